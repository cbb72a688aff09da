#include "experiments/dislib/config.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "io/config_keys.h"
#include "io/files.h"
#include "io/toml_values.h"
#include "xent/checkpoint.h"
#include "xent/dislib.h"
#include "xent/error.h"

namespace xent::dislib {
namespace {

using namespace toml_io;

const std::vector<std::pair<std::string, ModelKind>> kModels = {
    {"pixels", ModelKind::Pixels}, {"linear", ModelKind::Linear}, {"mlp", ModelKind::Mlp}};

using Key = config_keys::Key<RunConfig>;
using Table = config_keys::Table<RunConfig>;

const Table& table() {
  using namespace config_keys;
  using C = RunConfig;
  static const Table t(
      {
          string_key<C>("data.name", XENT_FIELD(dataset), {}, "dsprites or shapes3d"),
          seed_key<C>("data.split_seed", XENT_FIELD(split_seed), {},
                      "the 80/10/10 split's permutation; repeat r uses split_seed + r"),
          enum_key<C>("model.kind", XENT_FIELD(model), kModels, {},
                      "pixels, linear (one layer to model.width) or mlp"),
          int_key<C>("model.width", XENT_FIELD(width), {},
                     "units of the representation (and of each hidden layer)"),
          int_key<C>("model.layers", XENT_FIELD(layers), {},
                     "mlp: hidden layers of Linear + BatchNorm + ReLU"),
          int_key<C>("train.batch", XENT_FIELD(batch), {}, "batch size"),
          real_key<C, double>("train.lr", XENT_FIELD(lr), {}, "Adam learning rate"),
          int64_key<C>("train.max_epochs", XENT_FIELD(max_epochs), {.resume = true},
                       "epochs over the training split at most"),
          int64_key<C>("train.steps", XENT_FIELD(steps), {.resume = true},
                       "> 0: exactly this many steps instead of epochs"),
          real_key<C, double>("train.stop_acc", XENT_FIELD(stop_acc), {},
                              "a repeat stops once its validation accuracy exceeds this (1: "
                              "never)"),
          int_key<C>("train.repeats", XENT_FIELD(repeats), {},
                     "repeats trained together (seeds train.seed + r)"),
          seed_key<C>("train.seed", XENT_FIELD(seed), {},
                      "initialisation and batch order of repeat 0"),
          int64_key<C>("train.eval_every", XENT_FIELD(eval_every), {},
                       "validation every N steps (0: every epoch)"),
          int64_key<C>("train.checkpoint_every", XENT_FIELD(checkpoint_every), {.resume = true},
                       "checkpoint every N steps (0: start and end)"),
          int_key<C>("train.threads", XENT_FIELD(threads), {.resume = true},
                     "CPU backend threads (0: every core); the results do not depend on it"),
          int64_key<C>("probe.fit", XENT_FIELD(probe_fit), {},
                       "validation images that fit the probe (0: all)"),
          int64_key<C>("probe.score", XENT_FIELD(probe_score), {},
                       "test images that score the probe (0: all)"),
      },
      "xent dislib");
  return t;
}

std::string without_resume_keys(const RunConfig& c) {
  std::string out;
  for (const Key& k : table().keys())
    if (!k.attrs.resume) out += k.name + " = " + k.get(c) + "\n";
  return out;
}

}  // namespace

std::string model_name(ModelKind k) { return enum_name(k, kModels); }

RunConfig load_run_config(const std::string& file, const std::vector<std::string>& sets) {
  if (file.empty()) return load_run_config_text("", "", sets);
  return load_run_config_text(read_input_file(file, kMaxConfigBytes, "config file"), file, sets);
}

RunConfig load_run_config_text(const std::string& text, const std::string& file,
                               const std::vector<std::string>& sets) {
  RunConfig c;
  table().apply_table(c, parse_document(text, file), file);
  for (const std::string& set : sets) table().apply_set(c, set, "--set");
  validate(c);
  return c;
}

void validate(const RunConfig& c) {
  auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw InputError(key + ": " + what);
  };
  const Dataset& d = dataset(c.dataset);
  const int64_t n_train = d.images * 8 / 10, n_held = d.images / 10;
  need(c.batch >= 2 && c.batch <= n_train, "train.batch",
       "must be in [2, " + std::to_string(n_train) + "] (BatchNorm needs 2 rows; the " + d.name +
           " training split holds " + std::to_string(n_train) + "), got " +
           std::to_string(c.batch));
  need(std::isfinite(c.lr) && c.lr > 0, "train.lr", "must be a positive number");
  need(c.max_epochs >= 1, "train.max_epochs",
       "must be at least 1, got " + std::to_string(c.max_epochs));
  need(c.steps >= 0, "train.steps",
       "must be >= 0 (0: use train.max_epochs), got " + std::to_string(c.steps));
  need(c.stop_acc > 0 && c.stop_acc <= 1, "train.stop_acc", "must be in (0, 1]");
  need(c.repeats >= 1 && c.repeats <= 64, "train.repeats",
       "must be in [1, 64], got " + std::to_string(c.repeats));
  need(c.eval_every >= 0, "train.eval_every", "must be >= 0, got " + std::to_string(c.eval_every));
  need(c.checkpoint_every >= 0, "train.checkpoint_every",
       "must be >= 0, got " + std::to_string(c.checkpoint_every));
  need(c.threads >= 0, "train.threads", "must be >= 0, got " + std::to_string(c.threads));
  need(c.width >= 1 && c.width <= 65536, "model.width",
       "must be in [1, 65536], got " + std::to_string(c.width));
  need(c.layers >= 1 && c.layers <= 16, "model.layers",
       "must be in [1, 16], got " + std::to_string(c.layers));
  for (const auto& [key, v] : {std::pair{"probe.fit", c.probe_fit}, {"probe.score", c.probe_score}})
    need(v == 0 || (v >= 2 && v <= n_held), key,
         "must be 0 (all) or in [2, " + std::to_string(n_held) + "], got " + std::to_string(v));
}

std::string to_toml(const RunConfig& c) { return table().to_toml(c); }

std::string run_config_help() { return table().help(RunConfig{}); }

std::vector<std::string> run_config_key_names() {
  return table().names_where([](const config_keys::Attrs&) { return true; });
}

void check_resume(const RunConfig& run, const RunConfig& resumed) {
  table().check_resume(run, resumed);
}

uint64_t config_hash(const RunConfig& c) { return fnv1a(without_resume_keys(c)); }

uint64_t shape_hash(const RunConfig& c) {
  const Dataset& d = dataset(c.dataset);
  return fnv1a("values=" + std::to_string(d.values) + ";classes=" + std::to_string(d.classes) +
               ";model=" + model_name(c.model) + ";width=" + std::to_string(c.width) +
               ";layers=" + std::to_string(c.layers) + ";K=" + std::to_string(c.repeats));
}

}  // namespace xent::dislib
