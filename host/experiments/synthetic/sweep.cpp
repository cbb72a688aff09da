#include "experiments/synthetic/sweep.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "io/files.h"
#include "xent/error.h"

namespace xent {
namespace {

// Sweep files hold a few dozen rows (the paper's tables are 3 KiB); the limit keeps toml++'s
// recursion on long dotted keys far from the stack's end, which a sanitizer build reaches at
// about 60 KB (see kMaxConfigBytes in config.cpp).
constexpr size_t kMaxSweepBytes = 32 * 1024;

// A config key's value as written in the file: TOML text for load_config_settings, and a short
// form for run ids.
struct Entry {
  std::string key, value, label;
};

std::string toml_text(const toml::node& n) {
  std::ostringstream o;
  n.visit([&](const auto& v) { o << v; });
  return o.str();
}

std::string label_of(const toml::node& n) {
  if (const auto* a = n.as_array()) {
    std::string s;
    for (size_t i = 0; i < a->size(); ++i) s += (i ? "-" : "") + label_of(*a->get(i));
    return s;
  }
  if (const auto* v = n.as_string()) return v->get();
  if (const auto* v = n.as_floating_point()) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v->get());
    return std::string(buf, r.ptr);
  }
  return toml_text(n);
}

// Config keys of a table, dotted: [dgp] kappa = 5 and dgp.kappa = 5 are both "dgp.kappa".
void flatten(const toml::table& t, const std::string& prefix, const std::set<std::string>& skip,
             std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (const auto& [k, v] : t) {
    const std::string name =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (prefix.empty() && skip.count(name)) continue;
    if (const auto* sub = v.as_table())
      flatten(*sub, name, {}, out);
    else
      out.emplace_back(name, &v);
  }
}

std::vector<Entry> entries(const toml::table& t, const std::set<std::string>& skip) {
  std::vector<std::pair<std::string, const toml::node*>> flat;
  flatten(t, "", skip, flat);
  std::vector<Entry> out;
  for (const auto& [k, v] : flat) out.push_back({k, toml_text(*v), label_of(*v)});
  return out;
}

bool readable_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.')
      return false;
  return true;
}

std::string id_part(const std::string& s) {
  std::string out;
  for (const char ch : s)
    out += std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '='
               ? ch
               : '-';
  return out;
}

struct Row {
  std::string name;
  std::vector<Entry> keys;
};

struct GridAxis {
  std::string key;
  std::vector<Entry> values;
};

struct SweepFile {
  std::string preset;
  std::vector<uint64_t> seeds;
  std::vector<Entry> base;
  std::vector<Row> rows;
  std::vector<GridAxis> grid;
};

SweepFile parse(std::string_view text, const std::string& file) {
  if (text.size() > kMaxSweepBytes)
    throw InputError(file + ": larger than 32 KiB, too large for a sweep file");
  toml::table t;
  try {
    t = toml::parse(toml_safe_text(text), file);
  } catch (const toml::parse_error& e) {
    throw InputError(file + ":" + std::to_string(e.source().begin.line) + ": " +
                     std::string(e.description()));
  }
  SweepFile f;
  const auto bad = [&](const std::string& what) { throw InputError(file + ": " + what); };
  if (const auto* n = t.get("preset")) {
    if (!n->is_string()) bad("preset: expected a string");
    f.preset = n->as_string()->get();
  }
  if (const auto* n = t.get("title"); n && !n->is_string()) bad("title: expected a string");
  if (const auto* n = t.get("metrics");
      n && !(n->is_array() && n->as_array()->is_homogeneous(toml::node_type::string)))
    bad("metrics: expected an array of metric names, e.g. [\"r2_a\"]");
  if (const auto* n = t.get("seeds")) {
    const auto* a = n->as_array();
    if (!a || a->empty()) bad("seeds: expected a non-empty array of seeds, e.g. [0, 1, 2]");
    for (size_t i = 0; i < a->size(); ++i) {
      const auto* v = a->get(i)->as_integer();
      if (!v || v->get() < 0) bad("seeds[" + std::to_string(i) + "]: expected an integer >= 0");
      const auto s = static_cast<uint64_t>(v->get());
      for (const uint64_t seen : f.seeds)
        if (seen == s) bad("seeds: " + std::to_string(s) + " is listed twice");
      f.seeds.push_back(s);
    }
  } else {
    f.seeds = {0};
  }
  f.base = entries(t, {"preset", "title", "metrics", "seeds", "grid", "row"});
  if (const auto* n = t.get("grid")) {
    const auto* g = n->as_table();
    if (!g) bad("grid: expected a table of key = [values]");
    if (g->empty()) bad("[grid]: empty (give at least one key = [values], or leave it out)");
    std::vector<std::pair<std::string, const toml::node*>> flat;
    flatten(*g, "", {}, flat);
    for (const auto& [k, v] : flat) {
      const auto* a = v->as_array();
      if (!a || a->empty())
        bad("[grid] " + k + ": expected a non-empty array of values, e.g. [5, 10, 50]");
      GridAxis axis{k, {}};
      for (size_t i = 0; i < a->size(); ++i) {
        const toml::node& e = *a->get(i);
        axis.values.push_back({k, toml_text(e), label_of(e)});
        for (size_t j = 0; j + 1 < axis.values.size(); ++j)
          if (axis.values[j].value == axis.values.back().value)
            bad("[grid] " + k + ": the value " + axis.values.back().value + " is listed twice");
      }
      f.grid.push_back(axis);
    }
  }
  if (const auto* n = t.get("row")) {
    const auto* a = n->as_array();
    if (!a || !a->is_array_of_tables() || a->empty())
      bad("row: expected one or more [[row]] tables");
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table& r = *a->get(i)->as_table();
      const std::string where = "[[row]] " + std::to_string(i + 1);
      const auto* name = r.get("name");
      if (!name || !name->is_string() || !readable_name(name->as_string()->get()))
        bad(where + ": needs name = \"...\" (letters, digits, '-', '_', '.'; at most 64)");
      Row row{name->as_string()->get(), entries(r, {"name", "paper"})};
      for (const auto& other : f.rows)
        if (other.name == row.name) bad("[[row]] '" + row.name + "' is listed twice");
      if (const auto* p = r.get("paper"); p && !p->is_table())
        bad("[[row]] " + row.name + ": paper: expected a table of metric = value");
      f.rows.push_back(row);
    }
  }
  return f;
}

// Keys the sweep sets itself, or that only one place may set.
void check_keys(const SweepFile& f, const std::string& file, const std::vector<Entry>& cli) {
  std::map<std::string, std::string> owner;
  const auto population = [](const std::string& key) {
    return std::count(population_keys().begin(), population_keys().end(), key) > 0;
  };
  const auto claim = [&](const std::string& key, const std::string& where) {
    if (key == "train.seed")
      throw InputError(where + " train.seed: set by the sweep; list seeds = [...] instead");
    if (population(key))
      throw InputError(where + " " + key +
                       ": the sweep forms populations itself (see --max-population)");
    const auto [it, fresh] = owner.emplace(key, where);
    if (!fresh)
      throw InputError(where + " " + key + ": conflicts with " + it->second +
                       ", which sets it too (set each key in one place)");
  };
  for (const auto& e : f.base) claim(e.key, file);
  for (const auto& a : f.grid) claim(a.key, file + " [grid]");
  // Each row may set what the others set: rows differ by design.
  std::map<std::string, std::string> shared = owner;
  for (const auto& r : f.rows) {
    owner = shared;
    for (const auto& e : r.keys) claim(e.key, file + " [[row]] " + r.name);
  }
  for (const auto& r : f.rows)
    for (const auto& e : r.keys) shared.emplace(e.key, file + " [[row]] " + r.name);
  // --set may replace the file's shared keys, not what the sweep varies.
  for (const auto& e : cli) {
    const auto it = shared.find(e.key);
    if (it != shared.end() && it->second != file)
      throw InputError("--set " + e.key + ": conflicts with " + it->second +
                       ", which varies it in this sweep");
    if (e.key == "train.seed" || population(e.key)) claim(e.key, "--set");
  }
}

std::vector<Entry> parse_sets(const std::vector<std::string>& sets) {
  std::vector<Entry> out;
  for (const auto& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw InputError("--set '" + s + "': expected key=value");
    out.push_back({s.substr(0, eq), s.substr(eq + 1), s.substr(eq + 1)});
  }
  return out;
}

// Every combination of the grid's values, the first axis varying slowest.
std::vector<std::vector<const Entry*>> combinations(const std::vector<GridAxis>& grid) {
  std::vector<std::vector<const Entry*>> out = {{}};
  for (const auto& axis : grid) {
    std::vector<std::vector<const Entry*>> next;
    for (const auto& partial : out)
      for (const auto& v : axis.values) {
        next.push_back(partial);
        next.back().push_back(&v);
      }
    out = std::move(next);
  }
  return out;
}

// eval_every_set: --set gave train.eval_every, which then stays as given.
void apply_steps(Config& c, int64_t steps, bool eval_every_set) {
  if (steps <= 0) return;
  // Keep the number of evaluations: the curves have as many points at any length.
  if (c.train.eval_every > 0 && !eval_every_set) {
    const double scaled = static_cast<double>(c.train.eval_every) * static_cast<double>(steps) /
                          static_cast<double>(c.train.steps);
    c.train.eval_every = std::max<int64_t>(1, static_cast<int64_t>(scaled));
  }
  c.train.steps = steps;
  validate(c);
}

}  // namespace

SweepPlan plan_sweep(const std::string& file, const SweepOptions& o) {
  return plan_sweep_text(read_input_file(file, kMaxSweepBytes, "sweep file"), file, o);
}

SweepPlan plan_sweep_text(std::string_view text, const std::string& file, const SweepOptions& o) {
  if (o.max_population < 1 || o.max_population > 4096)
    throw InputError("--max-population: must be in [1, 4096]");
  if (o.steps < 0) throw InputError("--steps: must be >= 1");
  const SweepFile f = parse(text, file);
  const std::vector<Entry> cli = parse_sets(o.sets);
  check_keys(f, file, cli);
  if (o.steps > 0)
    for (const auto& e : cli)
      if (e.key == "train.steps")
        throw InputError("--set train.steps: conflicts with --steps (give one of them)");

  std::vector<Row> rows;
  for (const auto& name : o.rows)
    if (std::none_of(f.rows.begin(), f.rows.end(), [&](const Row& r) { return r.name == name; }))
      throw InputError("--rows: " + file + " has no [[row]] named '" + name + "'");
  for (const auto& r : f.rows)
    if (o.rows.empty() || std::find(o.rows.begin(), o.rows.end(), r.name) != o.rows.end())
      rows.push_back(r);
  if (rows.empty()) rows.push_back({});
  const bool eval_every_set = std::any_of(
      cli.begin(), cli.end(), [](const Entry& e) { return e.key == "train.eval_every"; });
  SweepPlan plan;
  std::map<std::string, size_t> ids;
  for (const auto& row : rows)
    for (const auto& combo : combinations(f.grid))
      for (const uint64_t seed : f.seeds) {
        SweepRun r;
        r.row = row.name;
        r.seed = seed;
        std::vector<Setting> settings;
        for (const auto& e : f.base) settings.push_back({e.key, e.value, file});
        const std::string row_where = file + " [[row]] " + row.name;
        for (const auto& e : row.keys) settings.push_back({e.key, e.value, row_where});
        std::string id = row.name;
        for (const Entry* e : combo) {
          settings.push_back({e->key, e->value, file + " [grid]"});
          id += (id.empty() ? "" : "_") + id_part(e->key + "=" + e->label);
        }
        id += (id.empty() ? "" : "_") + std::string("seed") + std::to_string(seed);
        settings.push_back({"train.seed", std::to_string(seed), file + " seeds"});
        for (const auto& e : cli) settings.push_back({e.key, e.value, "--set"});
        r.id = id;
        try {
          r.config = load_config_settings(f.preset, settings);
          apply_steps(r.config, o.steps, eval_every_set);
        } catch (const InputError& e) {
          throw InputError(file + ": run " + id + ": " + e.what());
        }
        if (const auto [it, fresh] = ids.emplace(id, plan.runs.size()); !fresh)
          throw InputError(file + ": two runs share the id " + id +
                           " (two [grid] values with the same label?)");
        plan.runs.push_back(std::move(r));
      }

  // Runs join the open population of their shape until it is full; populations keep the order
  // of their first run.
  std::map<std::string, size_t> open;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const std::string key = population_key(plan.runs[i].config);
    const auto it = open.find(key);
    if (it != open.end() &&
        plan.populations[it->second].size() < static_cast<size_t>(o.max_population)) {
      plan.populations[it->second].push_back(i);
    } else {
      open[key] = plan.populations.size();
      plan.populations.push_back({i});
    }
  }
  return plan;
}

}  // namespace xent
