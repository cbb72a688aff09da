// A run's configuration: defaults, then a preset, then a TOML file, then --set overrides.
// Every key has one dotted name ("dgp.kappa") used in files, on the command line and in the
// resolved config.toml a run writes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xent/dgp.h"

namespace xent {

// Which statistics BatchNorm normalises with at evaluation: its running statistics (the
// paper's eval mode) or each evaluation chunk's own (train.batch rows at a time; the running
// statistics are left as training left them), a diagnostic of the running statistics' lag.
enum class BnEval { Running, Batch };

struct ModelConfig {
  std::vector<int> hidden;        // encoder hidden widths; empty = the paper's, from d
  bool normalize_output = false;  // project f(x) onto the sphere
  bool normalize_head = false;    // renormalise the rows of W before each step
  float leaky_slope = 0.01f;
  float bn_eps = 1e-5f;
  float bn_momentum = 0.1f;
  BnEval bn_eval = BnEval::Running;
  // The widths actually used: the paper's 10d, 50d, 50d, 50d, 50d, 10d unless given.
  std::vector<int> widths(int d) const;
};

struct TrainConfig {
  int64_t steps = 50000;
  int batch = 1024;
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  uint64_t seed = 0;          // replica k uses seed + k
  int population = 1;         // K: independent replicas trained in the same launches
  int64_t eval_every = 5000;  // 0: only at the end
  // 0: only at the end. A run also writes one at step 0, so that it can always be resumed.
  int64_t checkpoint_every = 5000;
  int eval_samples = 8192;
  double eval_split = 0.5;  // the first half fits the probes, the second half scores them
  // TF32 tensor cores in the CUDA backend's GEMMs (10-bit mantissas in the products, FP32
  // sums); the CPU backend always computes in FP32.
  bool tf32 = false;
  // CPU backend threads; 0: every core this process may use (its affinity mask and cgroup
  // quota). Results are the same bits for any value, so a run may resume with another.
  int threads = 0;
};

struct Config {
  DgpParams dgp;
  ModelConfig model;
  TrainConfig train;
};

// The names of the built-in presets, with a one-line description each.
std::vector<std::pair<std::string, std::string>> preset_list();

// Builds a config. Throws InputError naming the key, file or preset on any problem.
//   preset: "" for none; file: "" for none; sets: "key=value" strings (TOML values, or bare
//   strings).
Config load_config(const std::string& preset, const std::string& file,
                   const std::vector<std::string>& sets);
// load_config with the config file's text in hand instead of its path: file only names it in
// errors ("" when there is no file; an empty text sets no keys).
Config load_config_text(const std::string& preset, std::string_view toml_text,
                        const std::string& file, const std::vector<std::string>& sets);

// One key = value setting and where it came from, for messages (e.g. "sweep.toml [grid]").
// value is TOML ("10", "\"laplace\"", "[16, 32]").
struct Setting {
  std::string key, value, where;
};
// Defaults, then the preset, then each setting in order. Throws InputError naming the setting's
// place and key on an unknown key or a bad value.
Config load_config_settings(const std::string& preset, const std::vector<Setting>& settings);

// TOML text made safe for toml++ 3.3 (non-ASCII characters replaced; see config.cpp): parse a
// config-like file only through it.
std::string toml_safe_text(std::string_view text);

// Range checks (d >= 2, kappa > 0, batch > 0, ...). Throws InputError naming the key.
void validate(const Config& c);

// The resolved config as TOML, every key written.
std::string to_toml(const Config& c);

// Every key as (dotted name, TOML value), in the order to_toml writes them.
std::vector<std::pair<std::string, std::string>> key_values(const Config& c);

}  // namespace xent

namespace xent {
// Every key with its default, one per line, for --help.
std::string config_keys_help();
// Every key's name, in table order.
const std::vector<std::string>& config_key_names();
}  // namespace xent

// What each key may do, from the key table's attributes (config.cpp): nothing else lists key
// names for these roles.
namespace xent {

// Config keys that may differ between the replicas of one population: they change values the
// replicas draw, never a tensor's shape or the optimiser, so the replicas still share every call.
// train.seed first, in the order messages list them.
const std::vector<std::string>& per_replica_keys();
// Keys that give the size of the population itself (train.population): whatever forms the
// population sets them (a Trainer from its replicas, a sweep from --max-population).
const std::vector<std::string>& population_keys();
// Keys the shapes of a checkpoint's tensors depend on (dgp.d, dgp.clusters, dgp.labels,
// dgp.instances, model.hidden, train.population), in table order.
const std::vector<std::string>& shape_keys();
// Keys a resumed run may change (train.steps), in table order.
const std::vector<std::string>& resume_keys();

// Sets key's field in `to` to its value in `from`. Throws std::invalid_argument on an unknown
// key.
void copy_key(Config& to, const Config& from, const std::string& key);

// The part of a config that replicas of one population must share: its resolved TOML with the
// per-replica and population keys at their defaults. Equal keys mean the configs can be one
// Trainer.
std::string population_key(const Config& c);

// Refuses a resumed run's config that changes a key other than resume_keys() from the run's:
// throws InputError "--set KEY: cannot change on --resume (the run used VALUE; only
// train.steps may change)" for the first such key in table order.
void check_resume_config(const Config& run, const Config& resumed);

// "a", "a or b", "a, b or c": key names for a message.
std::string key_list(const std::vector<std::string>& keys);

}  // namespace xent
