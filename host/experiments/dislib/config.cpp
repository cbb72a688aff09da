#include "experiments/dislib/config.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

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

// One key: its name, its meaning for --help, how to read and write it, and whether a resumed
// run may change it.
struct Key {
  std::string name, help;
  std::function<void(RunConfig&, const toml::node&, const std::string&)> set;
  std::function<std::string(const RunConfig&)> get;
  bool resume = false;
};

uint64_t as_seed(const toml::node& n, const std::string& w) {
  const int64_t v = as_int(n, w);
  if (v < 0) bad(w, "must be >= 0");
  return static_cast<uint64_t>(v);
}

#define XENT_KEY(NAME, FIELD, READ, WRITE, HELP, RESUME)                                         \
  Key {                                                                                          \
    NAME, HELP, [](RunConfig& c, const toml::node& n, const std::string& w) { c.FIELD = READ; }, \
        [](const RunConfig& c) { return WRITE; }, RESUME                                         \
  }

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      XENT_KEY("data.name", dataset, as_string(n, w), quote(c.dataset), "dsprites or shapes3d",
               false),
      XENT_KEY("data.split_seed", split_seed, as_seed(n, w), std::to_string(c.split_seed),
               "the 80/10/10 split's permutation; repeat r uses split_seed + r", false),
      XENT_KEY("model.kind", model, as_enum(n, w, kModels), quote(enum_name(c.model, kModels)),
               "pixels, linear (one layer to model.width) or mlp", false),
      XENT_KEY("model.width", width, as_int32(n, w), std::to_string(c.width),
               "units of the representation (and of each hidden layer)", false),
      XENT_KEY("model.layers", layers, as_int32(n, w), std::to_string(c.layers),
               "mlp: hidden layers of Linear + BatchNorm + ReLU", false),
      XENT_KEY("train.batch", batch, as_int32(n, w), std::to_string(c.batch), "batch size", false),
      XENT_KEY("train.lr", lr, as_double(n, w), num(c.lr), "Adam learning rate", false),
      XENT_KEY("train.max_epochs", max_epochs, as_int(n, w), std::to_string(c.max_epochs),
               "epochs over the training split at most", true),
      XENT_KEY("train.steps", steps, as_int(n, w), std::to_string(c.steps),
               "> 0: exactly this many steps instead of epochs", true),
      XENT_KEY("train.stop_acc", stop_acc, as_double(n, w), num(c.stop_acc),
               "a repeat stops once its validation accuracy exceeds this (1: never)", false),
      XENT_KEY("train.repeats", repeats, as_int32(n, w), std::to_string(c.repeats),
               "repeats trained together (seeds train.seed + r)", false),
      XENT_KEY("train.seed", seed, as_seed(n, w), std::to_string(c.seed),
               "initialisation and batch order of repeat 0", false),
      XENT_KEY("train.eval_every", eval_every, as_int(n, w), std::to_string(c.eval_every),
               "validation every N steps (0: every epoch)", false),
      XENT_KEY("train.checkpoint_every", checkpoint_every, as_int(n, w),
               std::to_string(c.checkpoint_every), "checkpoint every N steps (0: start and end)",
               true),
      XENT_KEY("train.threads", threads, as_int32(n, w), std::to_string(c.threads),
               "CPU backend threads (0: every core); the results do not depend on it", true),
      XENT_KEY("probe.fit", probe_fit, as_int(n, w), std::to_string(c.probe_fit),
               "validation images that fit the probe (0: all)", false),
      XENT_KEY("probe.score", probe_score, as_int(n, w), std::to_string(c.probe_score),
               "test images that score the probe (0: all)", false),
  };
  return k;
}
#undef XENT_KEY

const Key* find_key(const std::string& name) {
  for (const Key& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

bool is_section(const std::string& name) {
  return name == "data" || name == "model" || name == "train" || name == "probe";
}

void apply(RunConfig& c, const std::string& key, const toml::node& v, const std::string& where) {
  const Key* k = find_key(key);
  if (!k)
    bad(where, "unknown key '" + shown(key) + "' (see `xent dislib --help` for the key list)");
  k->set(c, v, where);
}

std::string without_resume_keys(const RunConfig& c) {
  std::string out;
  for (const Key& k : keys())
    if (!k.resume) out += k.name + " = " + k.get(c) + "\n";
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
  auto set = [&](const std::string& key, const toml::node& v, const std::string& where) {
    apply(c, key, v, where);
  };
  apply_table(parse_document(text, file), "", file, is_section, set);
  for (const std::string& s : sets)
    apply_set(
        s, "--set", [](const std::string& key) { return find_key(key) != nullptr; },
        "`xent dislib --help`", set);
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

std::string to_toml(const RunConfig& c) {
  std::string out, section;
  for (const Key& k : keys()) {
    const size_t dot = k.name.find('.');
    const std::string s = k.name.substr(0, dot);
    if (s != section) out += (section.empty() ? "[" : "\n[") + s + "]\n";
    section = s;
    out += k.name.substr(dot + 1) + " = " + k.get(c) + "\n";
  }
  return out;
}

std::string run_config_help() {
  const RunConfig d;
  std::string out;
  for (const Key& k : keys()) {
    std::string line = "  " + k.name + " = " + k.get(d);
    line.resize(std::max<size_t>(line.size() + 1, 34), ' ');
    out += line + k.help + "\n";
  }
  return out;
}

void check_resume(const RunConfig& run, const RunConfig& resumed) {
  for (const Key& k : keys())
    if (!k.resume && k.get(run) != k.get(resumed))
      throw InputError("--set " + k.name + ": cannot change on --resume (the run used " +
                       k.get(run) +
                       "; only train.max_epochs, train.steps, train.checkpoint_every and "
                       "train.threads may change)");
}

uint64_t config_hash(const RunConfig& c) { return fnv1a(without_resume_keys(c)); }

uint64_t shape_hash(const RunConfig& c) {
  const Dataset& d = dataset(c.dataset);
  return fnv1a("values=" + std::to_string(d.values) + ";classes=" + std::to_string(d.classes) +
               ";model=" + model_name(c.model) + ";width=" + std::to_string(c.width) +
               ";layers=" + std::to_string(c.layers) + ";K=" + std::to_string(c.repeats));
}

}  // namespace xent::dislib
