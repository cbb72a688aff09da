#include "xent/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "io/config_keys.h"
#include "io/files.h"
#include "io/toml_values.h"
#include "xent/error.h"

namespace xent {

using namespace toml_io;

std::vector<int> ModelConfig::widths(int d) const {
  if (!hidden.empty()) return hidden;
  return {10 * d, 50 * d, 50 * d, 50 * d, 50 * d, 10 * d};
}

namespace {

using config_keys::Attrs;
using Key = config_keys::Key<Config>;
using Table = config_keys::Table<Config>;

const std::vector<std::pair<std::string, CentreDist>> kCentres = {{"uniform", CentreDist::Uniform},
                                                                  {"laplace", CentreDist::Laplace},
                                                                  {"normal", CentreDist::Normal}};
const std::vector<std::pair<std::string, Conditional>> kConditionals = {
    {"vmf", Conditional::VonMisesFisher},
    {"laplace", Conditional::Laplace},
    {"normal", Conditional::Normal},
    {"truncated_laplace", Conditional::TruncatedLaplace},
    {"generalized_normal", Conditional::GeneralizedNormal}};
const std::vector<std::pair<std::string, BnEval>> kBnEval = {{"running", BnEval::Running},
                                                             {"batch", BnEval::Batch}};
const std::vector<std::pair<std::string, LabelMode>> kLabels = {
    {"supervised", LabelMode::Supervised}, {"diet", LabelMode::Diet}};

// A file name of printable ASCII. Control characters name no file a user meant, and non-ASCII
// text does not survive the config reader, which replaces it before toml++ sees it (see
// non_ascii_replaced in io/toml_values.cpp): the name read would not be the name written.
std::string as_path(const toml::node& n, const std::string& where) {
  std::string p = as_string(n, where);
  for (const char ch : p)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e)
      bad(where, "a file name may hold only printable ASCII characters");
  return p;
}

std::string absolute_path(const std::string& p) {
  if (p.empty()) return p;
  return std::filesystem::absolute(std::filesystem::path(p)).lexically_normal().string();
}

// A path to a file, kept absolute so that a run's config.toml names the same file from any
// working directory (--resume, `xent encode`); "" stays "" (no file).
template <class F>
Key path_key(std::string name, F field) {
  return config_keys::make_key<Config>(
      std::move(name), field,
      [](const toml::node& n, const std::string& w) { return absolute_path(as_path(n, w)); },
      [](const std::string& v) { return quote(v); }, {}, "");
}

// Widths of the encoder's hidden layers; [] is the paper's.
std::vector<int> as_widths(const toml::node& n, const std::string& w) {
  const auto* arr = n.as_array();
  if (!arr) bad(w, "expected an array of widths, e.g. [50, 250, 50] ([] = the paper's)");
  std::vector<int> out;
  for (size_t i = 0; i < arr->size(); ++i)
    out.push_back(as_int32(*arr->get(i), w + "[" + std::to_string(i) + "]"));
  return out;
}

std::string widths_toml(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

const Table& table() {
  using namespace config_keys;
  static const Table t(
      {
          int_key<Config>("dgp.d", XENT_FIELD(dgp.d), {.shape = true}),
          int_key<Config>("dgp.clusters", XENT_FIELD(dgp.clusters), {.shape = true}),
          enum_key<Config>("dgp.centres", XENT_FIELD(dgp.centres), kCentres, {.per_replica = 3}),
          real_key<Config, double>("dgp.centre_scale", XENT_FIELD(dgp.centre_scale),
                                   {.per_replica = 4}),
          enum_key<Config>("dgp.conditional", XENT_FIELD(dgp.conditional), kConditionals,
                           {.per_replica = 5}),
          real_key<Config, double>("dgp.kappa", XENT_FIELD(dgp.kappa), {.per_replica = 2}),
          real_key<Config, double>("dgp.beta", XENT_FIELD(dgp.beta)),
          enum_key<Config>("dgp.labels", XENT_FIELD(dgp.labels), kLabels, {.shape = true}),
          int64_key<Config>("dgp.instances", XENT_FIELD(dgp.instances), {.shape = true}),
          int_key<Config>("dgp.mixing_layers", XENT_FIELD(dgp.mixing_layers)),
          int_key<Config>("dgp.mixing_cond_draws", XENT_FIELD(dgp.mixing_cond_draws)),
          path_key("dgp.centres_file", XENT_FIELD(dgp.centres_file)),
          path_key("dgp.mixing_file", XENT_FIELD(dgp.mixing_file)),
          make_key<Config>("model.hidden", XENT_FIELD(model.hidden), as_widths, widths_toml,
                           {.shape = true}, ""),
          bool_key<Config>("model.normalize_output", XENT_FIELD(model.normalize_output)),
          bool_key<Config>("model.normalize_head", XENT_FIELD(model.normalize_head)),
          real_key<Config, float>("model.leaky_slope", XENT_FIELD(model.leaky_slope)),
          real_key<Config, float>("model.bn_eps", XENT_FIELD(model.bn_eps)),
          real_key<Config, float>("model.bn_momentum", XENT_FIELD(model.bn_momentum)),
          enum_key<Config>("model.bn_eval", XENT_FIELD(model.bn_eval), kBnEval),
          int64_key<Config>("train.steps", XENT_FIELD(train.steps), {.resume = true}),
          int_key<Config>("train.batch", XENT_FIELD(train.batch)),
          real_key<Config, double>("train.lr", XENT_FIELD(train.lr)),
          real_key<Config, double>("train.beta1", XENT_FIELD(train.beta1)),
          real_key<Config, double>("train.beta2", XENT_FIELD(train.beta2)),
          real_key<Config, double>("train.adam_eps", XENT_FIELD(train.adam_eps)),
          seed_key<Config>("train.seed", XENT_FIELD(train.seed), {.per_replica = 1}),
          int_key<Config>("train.population", XENT_FIELD(train.population),
                          {.population = true, .shape = true}),
          int64_key<Config>("train.eval_every", XENT_FIELD(train.eval_every)),
          int64_key<Config>("train.checkpoint_every", XENT_FIELD(train.checkpoint_every)),
          int_key<Config>("train.eval_samples", XENT_FIELD(train.eval_samples)),
          real_key<Config, double>("train.eval_split", XENT_FIELD(train.eval_split)),
          bool_key<Config>("train.tf32", XENT_FIELD(train.tf32)),
          int_key<Config>("train.threads", XENT_FIELD(train.threads), {.resume = true}),
      },
      "xent train");
  return t;
}

const std::vector<Key>& keys() { return table().keys(); }
const Key* find_key(const std::string& name) { return table().find(name); }

struct Preset {
  std::string name, help;
  std::vector<std::pair<std::string, std::string>> sets;
};

// The paper's Tables 2 (DIET) and 3 (supervised): the base setting and one change per row.
std::vector<Preset> make_presets() {
  const std::vector<Preset> rows = {
      {"base", "base: d=5, |C|=100, kappa=10, uniform centres, vMF", {}},
      {"d10", "d = 10", {{"dgp.d", "10"}}},
      {"d20", "d = 20", {{"dgp.d", "20"}}},
      {"c10", "|C| = 10", {{"dgp.clusters", "10"}}},
      {"c1000", "|C| = 1000", {{"dgp.clusters", "1000"}}},
      {"kappa5", "kappa = 5", {{"dgp.kappa", "5"}}},
      {"kappa50", "kappa = 50", {{"dgp.kappa", "50"}}},
      {"laplace", "Laplace conditional", {{"dgp.conditional", "\"laplace\""}}},
      {"normal", "Normal conditional", {{"dgp.conditional", "\"normal\""}}},
  };
  std::vector<Preset> out;
  out.push_back({"default",
                 "the supervised base setting, shortened to finish in ~1 minute on 2 CPU cores",
                 {{"train.steps", "3000"}, {"train.batch", "256"}, {"train.eval_every", "1000"}}});
  for (const auto& r : rows) out.push_back({"sup-" + r.name, "Table 3, " + r.help, r.sets});
  out.push_back({"sup-c10000", "Table 3, |C| = 10000", {{"dgp.clusters", "10000"}}});
  for (const auto& r : rows) {
    Preset p{"diet-" + r.name, "Table 2 (DIET, N = 1000), " + r.help, r.sets};
    p.sets.insert(p.sets.begin(), {"dgp.labels", "\"diet\""});
    out.push_back(p);
  }
  out.push_back({"diet-n1e5",
                 "Table 2 (DIET), N = 100000",
                 {{"dgp.labels", "\"diet\""}, {"dgp.instances", "100000"}}});
  // The reference code's other two conditionals (its --c-p 3 and 4), in no table of the paper.
  for (const char* labels : {"sup", "diet"}) {
    const bool diet = std::string(labels) == "diet";
    for (const auto& [name, conditional, help] :
         {std::tuple{"tlaplace", "\"truncated_laplace\"",
                     "truncated Laplace conditional, |z_i| <= dgp.beta = 2, not projected"},
          std::tuple{"gnormal", "\"generalized_normal\"",
                     "generalized normal conditional of shape dgp.beta = 2"}}) {
      Preset p{
          std::string(labels) + "-" + name,
          std::string(diet ? "DIET, N = 1000" : "supervised") + ", the reference code's " + help,
          {{"dgp.conditional", conditional}}};
      if (diet) p.sets.insert(p.sets.begin(), {"dgp.labels", "\"diet\""});
      out.push_back(p);
    }
  }
  return out;
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> p = make_presets();
  return p;
}

void apply_table(Config& c, const toml::table& t, const std::string& file) {
  table().apply_table(c, t, file);
}

void apply_set(Config& c, const std::string& kv, const std::string& where) {
  table().apply_set(c, kv, where);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> preset_list() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& p : presets()) out.emplace_back(p.name, p.help);
  return out;
}

Config load_config(const std::string& preset, const std::string& file,
                   const std::vector<std::string>& sets) {
  if (file.empty()) return load_config_text(preset, "", "", sets);
  // One byte past the limit is enough for load_config_text to refuse a file that is too large.
  return load_config_text(preset, read_input_file(file, kMaxConfigBytes, "config file"), file,
                          sets);
}

Config load_config_text(const std::string& preset, std::string_view toml_text,
                        const std::string& file, const std::vector<std::string>& sets) {
  Config c;
  if (!preset.empty()) {
    const Preset* found = nullptr;
    for (const auto& p : presets())
      if (p.name == preset) found = &p;
    if (!found) {
      std::string names;
      for (const auto& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
      throw InputError("--preset: unknown preset '" + shown(preset) + "' (available: " + names +
                       ")");
    }
    for (const auto& [k, v] : found->sets) apply_set(c, k + "=" + v, "preset " + preset);
  }
  const toml::table t = toml_io::parse_document(toml_text, file);
  apply_table(c, t, file);
  for (const auto& s : sets) apply_set(c, s, "--set");
  validate(c);
  return c;
}

std::string toml_safe_text(std::string_view text) { return non_ascii_replaced(text); }

Config load_config_settings(const std::string& preset, const std::vector<Setting>& settings) {
  Config c = load_config_text(preset, "", "", {});
  for (const Setting& s : settings) apply_set(c, s.key + "=" + s.value, s.where);
  validate(c);
  return c;
}

void validate(const Config& c) {
  auto need = [](bool ok, const std::string& key, const std::string& what) {
    if (!ok) throw InputError(key + ": " + what);
  };
  const auto& g = c.dgp;
  need(g.d >= 2, "dgp.d",
       "must be >= 2 (latents live on the sphere S^(d-1)), got " + std::to_string(g.d));
  need(g.d <= 4096, "dgp.d", "must be <= 4096");
  need(g.clusters >= 1, "dgp.clusters", "must be >= 1");
  need(std::isfinite(g.kappa) && g.kappa > 0, "dgp.kappa", "must be > 0");
  need(std::isfinite(g.beta) && g.beta > 0, "dgp.beta",
       "must be positive and finite (the truncated Laplace's bound, the generalized normal's "
       "shape)");
  need(std::isfinite(g.centre_scale) && g.centre_scale > 0, "dgp.centre_scale", "must be > 0");
  need(g.instances >= 1 && g.instances <= (int64_t{1} << 30), "dgp.instances",
       "must be in [1, 2^30]");
  need(g.classes() >= 2, g.labels == LabelMode::Diet ? "dgp.instances" : "dgp.clusters",
       "the classifier needs at least 2 classes");
  need(g.classes() <= (int64_t{1} << 24), "dgp.clusters", "at most 2^24 classes");
  need(g.mixing_layers >= 1, "dgp.mixing_layers", "must be >= 1");
  need(g.mixing_cond_draws >= 1, "dgp.mixing_cond_draws", "must be >= 1");
  for (size_t i = 0; i < c.model.hidden.size(); ++i)
    need(c.model.hidden[i] >= 1 && c.model.hidden[i] <= 65536, "model.hidden",
         "width " + std::to_string(i) + " is " + std::to_string(c.model.hidden[i]) +
             ", must be in [1, 65536]");
  need(c.model.leaky_slope > 0 && c.model.leaky_slope < 1, "model.leaky_slope",
       "must be in (0, 1)");
  // An infinite epsilon passes "> 0" and silently zeroes every normalised value or update.
  need(std::isfinite(c.model.bn_eps) && c.model.bn_eps > 0, "model.bn_eps", "must be > 0");
  need(c.model.bn_momentum >= 0 && c.model.bn_momentum <= 1, "model.bn_momentum",
       "must be in [0, 1]");
  const auto& t = c.train;
  need(t.steps >= 1, "train.steps", "must be >= 1");
  need(t.batch >= 2, "train.batch", "must be >= 2 (BatchNorm needs two rows)");
  need(t.batch <= (1 << 20), "train.batch", "must be <= 2^20");
  need(std::isfinite(t.lr) && t.lr > 0, "train.lr", "must be > 0");
  need(t.beta1 >= 0 && t.beta1 < 1, "train.beta1", "must be in [0, 1)");
  need(t.beta2 >= 0 && t.beta2 < 1, "train.beta2", "must be in [0, 1)");
  need(std::isfinite(t.adam_eps) && t.adam_eps > 0, "train.adam_eps", "must be > 0");
  need(t.population >= 1 && t.population <= 4096, "train.population", "must be in [1, 4096]");
  need(t.eval_every >= 0, "train.eval_every", "must be >= 0 (0: evaluate only at the end)");
  need(t.checkpoint_every >= 0, "train.checkpoint_every",
       "must be >= 0 (0: write a checkpoint only at the end)");
  need(t.eval_samples >= 8, "train.eval_samples", "must be >= 8");
  need(t.eval_split > 0 && t.eval_split < 1, "train.eval_split", "must be in (0, 1)");
  need(t.threads >= 0 && t.threads <= 1024, "train.threads",
       "must be in [0, 1024] (0: every core this process may use)");
  const double fit = std::round(t.eval_samples * t.eval_split);
  need(fit >= g.d + 2 && t.eval_samples - fit >= 2, "train.eval_samples",
       "too few samples to fit a probe with d + 1 parameters");
}

std::string to_toml(const Config& c) {
  return table().to_toml(c, "# xent resolved config: every key, as this run used it\n");
}

std::vector<std::pair<std::string, std::string>> key_values(const Config& c) {
  return table().values(c);
}

std::string config_keys_help() { return table().help(Config{}); }

}  // namespace xent

namespace xent {
namespace {

std::vector<std::string> names_where(const std::function<bool(const Attrs&)>& has) {
  return table().names_where(has);
}

}  // namespace

const std::vector<std::string>& per_replica_keys() {
  static const std::vector<std::string> out = [] {
    std::vector<const Key*> ks;
    for (const auto& k : keys())
      if (k.attrs.per_replica > 0) ks.push_back(&k);
    std::stable_sort(ks.begin(), ks.end(), [](const Key* a, const Key* b) {
      return a->attrs.per_replica < b->attrs.per_replica;
    });
    std::vector<std::string> names;
    for (const Key* k : ks) names.push_back(k->name);
    return names;
  }();
  return out;
}

const std::vector<std::string>& config_key_names() {
  static const auto out = names_where([](const Attrs&) { return true; });
  return out;
}

const std::vector<std::string>& population_keys() {
  static const auto out = names_where([](const Attrs& a) { return a.population; });
  return out;
}

const std::vector<std::string>& shape_keys() {
  static const auto out = names_where([](const Attrs& a) { return a.shape; });
  return out;
}

const std::vector<std::string>& resume_keys() {
  static const auto out = names_where([](const Attrs& a) { return a.resume; });
  return out;
}

void copy_key(Config& to, const Config& from, const std::string& key) {
  const Key* k = find_key(key);
  if (!k) throw std::invalid_argument("copy_key: unknown config key '" + key + "'");
  k->copy(to, from);
}

std::string population_key(const Config& c) {
  Config shared = c;
  const Config defaults;
  for (const auto& k : keys())
    if (k.attrs.per_replica > 0 || k.attrs.population) k.copy(shared, defaults);
  return to_toml(shared);
}

void check_resume_config(const Config& run, const Config& resumed) {
  table().check_resume(run, resumed);
}

std::string key_list(const std::vector<std::string>& names) { return Table::list(names); }

}  // namespace xent
