// A DisLib run's configuration (`xent dislib`): defaults, then a TOML file, then --set
// overrides, each key one dotted name ("train.max_epochs") in files, on the command line and in
// the resolved config.toml a run writes. The defaults are the reference's protocol
// (klindtlab/csi dislib/main.py; docs/paper.md, The DisLib protocol).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xent::dislib {

// What is probed: the images themselves, or the representation of a classifier trained on the
// dataset's label: one Linear layer to model.width, or model.layers x (Linear, BatchNorm, ReLU).
enum class ModelKind { Pixels, Linear, Mlp };

struct RunConfig {
  std::string dataset = "dsprites";  // data.name
  uint64_t split_seed = 0;           // data.split_seed: repeat r's split uses split_seed + r
  ModelKind model = ModelKind::Mlp;  // model.kind
  int width = 512;                   // model.width: the representation's size
  int layers = 3;                    // model.layers (mlp)
  int batch = 4096;                  // train.batch
  double lr = 1e-3;                  // train.lr (Adam)
  int64_t max_epochs = 100;          // train.max_epochs
  // train.steps: when > 0, exactly this many steps instead (epochs wrap as needed), for short
  // runs; early stopping still applies.
  int64_t steps = 0;
  // train.stop_acc: a repeat stops (keeping its best evaluation's parameters) once its
  // validation accuracy exceeds this; 1 never stops early.
  double stop_acc = 0.999;
  int repeats = 10;        // train.repeats: trained together, one population
  uint64_t seed = 0;       // train.seed: repeat r initialises and orders batches from seed + r
  int64_t eval_every = 0;  // train.eval_every, steps; 0: at the end of every epoch
  int64_t checkpoint_every = 0;  // train.checkpoint_every, steps; 0: only at step 0 and the end
  int threads = 0;               // train.threads (CPU backend); 0: every core
  // probe.fit / probe.score: validation images that fit the probe and test images that score
  // it; 0: the whole part.
  int64_t probe_fit = 0, probe_score = 0;
};

// Throws InputError naming the key, file or value on any problem.
RunConfig load_run_config(const std::string& file, const std::vector<std::string>& sets);
RunConfig load_run_config_text(const std::string& text, const std::string& file,
                               const std::vector<std::string>& sets);
// Range checks, with the dataset's sizes. Throws InputError naming the key.
void validate(const RunConfig& c);
// The resolved config as TOML, every key written.
std::string to_toml(const RunConfig& c);
// Every key with its default and meaning, for --help.
std::string run_config_help();
// Every key's name, in config.toml's order.
std::vector<std::string> run_config_key_names();
// A resumed run may change only these (train.max_epochs, train.steps, train.threads);
// throws InputError "--set KEY: cannot change on --resume ..." for any other difference.
void check_resume(const RunConfig& run, const RunConfig& resumed);
// FNV-1a of the resolved TOML with the resume keys left out, and of what fixes the shapes.
uint64_t config_hash(const RunConfig& c);
uint64_t shape_hash(const RunConfig& c);

std::string model_name(ModelKind k);

}  // namespace xent::dislib
