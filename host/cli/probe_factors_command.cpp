// `xent probe-factors`: the classification probe of the paper's ImageNet-X experiment
// (host/experiments/imagenet_x/probe_factors.h) on the user's feature files, with every step of the
// reference protocol a flag that defaults to the reference's value.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "experiments/imagenet_x/factor_figure.h"
#include "experiments/imagenet_x/probe_factors.h"
#include "io/files.h"
#include "xent/error.h"
#include "xent/npy.h"
#include "xent/t_test.h"

namespace xent::cli {
namespace {

// The reference's 17 targets (imagenetx/decode.py's target_names): ImageNet-X's 16 factors,
// and `class`, binarised as class index > the mean index.
const std::vector<std::string> kImagenetXTargets = {"class",           "multiple_objects",
                                                    "background",      "color",
                                                    "brighter",        "darker",
                                                    "style",           "larger",
                                                    "smaller",         "object_blocking",
                                                    "person_blocking", "partial_view",
                                                    "pattern",         "pose",
                                                    "shape",           "subcategory",
                                                    "texture"};

constexpr size_t kMaxTextBytes = size_t{512} << 20;  // jsonl, csv and file-name lists

struct Options {
  std::vector<std::string> features;  // NAME=PATH
  std::string targets, file_names, out, device = "auto", filter = "positive-mean";
  FactorProbeOptions probe;
  bool force = false;
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

FeatureSet load_features(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw InputError("--features " + spec + ": expected NAME=PATH");
  FeatureSet f;
  f.name = spec.substr(0, eq);
  for (const char c : f.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      throw InputError("--features " + spec + ": NAME may hold letters, digits, '_', '-', '.'");
  const std::string path = spec.substr(eq + 1);
  NpyArray a = read_npy(path);
  if (a.shape.size() != 2 || a.shape[0] < 1 || a.shape[1] < 1)
    throw InputError(path + ": expected features [rows][columns], a 2-D array");
  if (a.shape[1] > (1 << 24)) throw InputError(path + ": too many columns");
  f.rows = a.shape[0];
  f.cols = static_cast<int>(a.shape[1]);
  f.x = std::move(a.data);
  return f;
}

int32_t binary_value(double v, const std::string& where) {
  if (v != 0.0 && v != 1.0) throw InputError(where + ": expected 0 or 1, got " + std::to_string(v));
  return static_cast<int32_t>(v);
}

// A class label of a table: an integer 0 .. 2^24 (0/1 for a binary target, 0 .. K-1 for K).
int32_t class_value(double v, const std::string& where) {
  if (!(v >= 0.0 && v <= 16777216.0 && v == std::floor(v)))
    throw InputError(where + ": expected a class label (an integer >= 0), got " +
                     std::to_string(v));
  return static_cast<int32_t>(v);
}

// ImageNet-X annotations: one JSON object per image, aligned to the feature rows by file name.
FactorTargets load_jsonl(const std::string& path, const std::string& names_path, int64_t rows) {
  if (names_path.empty())
    throw InputError("--targets " + path + ": a .jsonl needs --file-names (one per feature row)");
  const std::vector<std::string> names =
      lines_of(read_input_file(names_path, kMaxTextBytes, "file-name list"));
  if (static_cast<int64_t>(names.size()) != rows)
    throw InputError(names_path + ": " + std::to_string(names.size()) +
                     " file names, but the features have " + std::to_string(rows) + " rows");
  std::map<std::string, nlohmann::json> by_name;
  const std::vector<std::string> lines =
      lines_of(read_input_file(path, kMaxTextBytes, "annotation file"));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[i]);
    } catch (const nlohmann::json::exception&) {
      throw InputError(path + ":" + std::to_string(i + 1) + ": not a JSON object");
    }
    if (!j.is_object() || !j.contains("file_name") || !j["file_name"].is_string())
      throw InputError(path + ":" + std::to_string(i + 1) + ": no \"file_name\" string");
    std::string name = j["file_name"].get<std::string>();
    by_name[std::move(name)] = std::move(j);
  }
  FactorTargets t;
  t.names = kImagenetXTargets;
  t.labels.assign(t.names.size(), std::vector<int32_t>(static_cast<size_t>(rows)));
  std::vector<double> cls(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const auto it = by_name.find(names[r]);
    if (it == by_name.end())
      throw InputError(names_path + ":" + std::to_string(r + 1) + ": " + names[r] + " is not in " +
                       path);
    const nlohmann::json& j = it->second;
    for (size_t k = 0; k < t.names.size(); ++k) {
      const std::string& key = t.names[k];
      if (!j.contains(key) || !j[key].is_number())
        throw InputError(path + ": " + names[r] + " has no numeric \"" + key + "\"");
      const double v = j[key].get<double>();
      if (k == 0)
        cls[r] = v;
      else
        t.labels[k][r] = binary_value(v, path + ": " + names[r] + " \"" + key + "\"");
    }
  }
  double mean = 0.0;
  for (const double c : cls) mean += c;
  mean /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r) t.labels[0][r] = cls[r] > mean;
  return t;
}

// Integer class labels [rows] or [rows][targets] from a .npy or a .csv with a header of names.
FactorTargets load_table(const std::string& path, int64_t rows) {
  FactorTargets t;
  std::vector<double> v;
  int64_t n = 0, cols = 0;
  if (path.size() >= 4 && path.substr(path.size() - 4) == ".csv") {
    const std::vector<std::string> lines = lines_of(read_input_file(path, kMaxTextBytes, "csv"));
    if (lines.empty()) throw InputError(path + ": empty");
    const auto cells = [](const std::string& line) {
      std::vector<std::string> out;
      std::string cell;
      std::istringstream in(line);
      while (std::getline(in, cell, ',')) out.push_back(cell);
      if (!line.empty() && line.back() == ',') out.push_back("");
      return out;
    };
    t.names = cells(lines[0]);
    cols = static_cast<int64_t>(t.names.size());
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> c = cells(lines[i]);
      if (static_cast<int64_t>(c.size()) != cols)
        throw InputError(path + ":" + std::to_string(i + 1) + ": " + std::to_string(c.size()) +
                         " cells, the header has " + std::to_string(cols));
      for (const std::string& s : c) {
        size_t used = 0;
        double x = 0;
        try {
          x = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != s.size())
          throw InputError(path + ":" + std::to_string(i + 1) + ": \"" + s + "\" is not a number");
        v.push_back(x);
      }
      ++n;
    }
  } else {
    NpyArray a = read_npy(path);
    if (a.shape.empty() || a.shape.size() > 2)
      throw InputError(path + ": expected labels [rows] or [rows][targets]");
    n = a.shape[0];
    cols = a.shape.size() == 2 ? a.shape[1] : 1;
    for (int64_t k = 0; k < cols; ++k)
      t.names.push_back(cols == 1 ? "target" : "target" + std::to_string(k));
    v = std::move(a.data);
  }
  if (n != rows)
    throw InputError(path + ": " + std::to_string(n) + " rows of labels, but the features have " +
                     std::to_string(rows));
  t.labels.assign(static_cast<size_t>(cols), std::vector<int32_t>(static_cast<size_t>(rows)));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      t.labels[k][r] = class_value(v[static_cast<size_t>(r * cols + k)],
                                   path + ": row " + std::to_string(r) + ", " + t.names[k]);
  return t;
}

nlohmann::json value(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string csv_value(double v) {
  if (!std::isfinite(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void run(const Options& o) {
  if (o.filter != "positive-mean" && o.filter != "none")
    throw InputError("--feature-filter: expected positive-mean or none, got " + o.filter);
  FactorProbeOptions po = o.probe;
  po.positive_mean_filter = o.filter == "positive-mean";
  std::vector<FeatureSet> sets;
  std::set<std::string> seen;
  for (const std::string& spec : o.features) {
    sets.push_back(load_features(spec));
    if (!seen.insert(sets.back().name).second)
      throw InputError("--features: the name " + sets.back().name + " is given twice");
    if (sets.back().rows != sets.front().rows)
      throw InputError("--features " + sets.back().name + ": " + std::to_string(sets.back().rows) +
                       " rows, but " + sets.front().name + " has " +
                       std::to_string(sets.front().rows));
  }
  const int64_t rows = sets.front().rows;
  const bool jsonl = o.targets.size() >= 6 && o.targets.substr(o.targets.size() - 6) == ".jsonl";
  const FactorTargets targets =
      jsonl ? load_jsonl(o.targets, o.file_names, rows) : load_table(o.targets, rows);
  prepare_output_dir(o.out, o.force);

  BackendOptions bo;
  bo.device = o.device;
  auto backend = make_backend(bo);
  std::vector<FactorProbe> probes;
  for (const FeatureSet& f : sets) {
    std::fprintf(stderr, "xent probe-factors: %s [%lld x %d], %zu targets x %d repeats on %s\n",
                 f.name.c_str(), static_cast<long long>(f.rows), f.cols, targets.names.size(),
                 std::max(po.repeats, 1), backend->name().c_str());
    probes.push_back(probe_factors(*backend, f, targets, po));
  }

  // Everything computed: now the files, each written whole or not at all. A run with a target of
  // more than two classes also lists each target's classes in results.json.
  bool multiclass = false;
  for (const int K : probes.front().classes) multiclass = multiclass || K > 2;
  nlohmann::json results = nlohmann::json::array(), sets_json = nlohmann::json::array();
  std::string csv = "features,target,repeat,part,rows,converged,iterations";
  for (const char* m : binary_metric_names()) csv += std::string(",") + m;
  csv += "\n";
  for (const FactorProbe& p : probes) {
    sets_json.push_back({{"name", p.features}, {"kept", p.kept}, {"dropped", p.dropped}});
    for (const FactorScore& s : p.scores) {
      nlohmann::json j = {{"features", p.features},
                          {"target", s.target},
                          {"repeat", s.repeat},
                          {"part", s.part},
                          {"rows", s.rows},
                          {"converged", s.converged},
                          {"iterations", s.iterations}};
      csv += p.features + "," + s.target + "," + std::to_string(s.repeat) + "," + s.part + "," +
             std::to_string(s.rows) + "," + (s.converged ? "true" : "false") + "," +
             std::to_string(s.iterations);
      for (size_t k = 0; k < binary_metric_names().size(); ++k) {
        const double v = binary_metric(s.metrics, static_cast<int>(k));
        j[binary_metric_names()[k]] = value(v);
        csv += "," + csv_value(v);
      }
      csv += "\n";
      results.push_back(j);
    }
    if (po.repeats == 0 && !multiclass) {
      const auto T = static_cast<int64_t>(targets.names.size());
      write_npy(o.out + "/" + p.features + "_weights.npy", p.weights.data(), {T, p.kept});
      write_npy(o.out + "/" + p.features + "_intercepts.npy", p.intercepts.data(), {T});
    } else if (po.repeats == 0) {
      // Per target: [k][kept] and [k], k = 1 for a binary target, K for one of K classes.
      size_t w = 0, b = 0;
      for (size_t t = 0; t < targets.names.size(); ++t) {
        const int64_t k = p.classes[t] == 2 ? 1 : p.classes[t];
        const std::string stem = o.out + "/" + p.features + "_" + targets.names[t];
        write_npy(stem + "_weights.npy", p.weights.data() + w, {k, p.kept});
        write_npy(stem + "_intercepts.npy", p.intercepts.data() + b, {k});
        w += static_cast<size_t>(k * p.kept);
        b += static_cast<size_t>(k);
      }
    }
  }
  nlohmann::json doc = {{"features", sets_json},
                        {"targets", targets.names},
                        {"options",
                         {{"repeats", po.repeats},
                          {"test_fraction", po.test_fraction},
                          {"balance", po.balance},
                          {"feature_filter", o.filter},
                          {"C", po.C},
                          {"seed", po.seed},
                          {"backend", backend->name()}}},
                        {"results", results}};
  if (multiclass) doc["classes"] = probes.front().classes;
  write_file_atomic(o.out + "/results.csv", csv);
  write_file_atomic(o.out + "/results.json", doc.dump(1) + "\n");

  // The summary: accuracy on the scored part, mean +- SEM over repeats, per target and set.
  const std::string part = po.repeats == 0 ? "all" : "test";
  std::printf("%-18s", ("accuracy (" + part + ")").c_str());
  for (const FactorProbe& p : probes) std::printf(" %18s", p.features.c_str());
  std::printf("\n");
  for (const std::string& t : targets.names) {
    std::printf("%-18s", t.c_str());
    for (const FactorProbe& p : probes) {
      std::vector<double> acc;
      for (const FactorScore& s : p.scores)
        if (s.target == t && s.part == part) acc.push_back(s.metrics.accuracy);
      const auto [m, sem] = mean_sem(acc);
      char cell[32];
      std::snprintf(cell, sizeof cell, "%.3f +- %.3f", m, sem);
      std::printf(" %18s", cell);
    }
    std::printf("\n");
  }
  size_t unconverged = 0;
  for (const FactorProbe& p : probes)
    for (const FactorScore& s : p.scores) unconverged += !s.converged;
  if (unconverged)
    std::fprintf(stderr,
                 "xent probe-factors: %zu scored fits stopped above the gradient tolerance (the "
                 "rounding floor of float logits); see \"converged\" in results.json\n",
                 unconverged);
  // The figure last, written whole under a temporary name first like the other files.
  const std::string png = o.out + "/factors.png";
  write_factor_figure(png + ".tmp", probes, targets.names, part);
  if (std::rename((png + ".tmp").c_str(), png.c_str()) != 0)
    throw InputError(png + ": cannot rename the figure into place");
  std::fprintf(stderr, "xent probe-factors: wrote %s/results.json, results.csv and factors.png\n",
               o.out.c_str());
}

}  // namespace

void add_probe_factors(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "probe-factors",
      "Classification probes of feature sets for binary or multiclass factors (the paper's "
      "ImageNet-X experiment): logistic regressions per target (multinomial for more than two "
      "classes), repeated over stratified, balanced splits");
  sub->add_option("--features", o->features, "NAME=PATH: a feature set, .npy [rows][p] (repeat)")
      ->required();
  sub->add_option("--targets", o->targets,
                  "ImageNet-X annotations (.jsonl, with --file-names) or class labels 0 .. K-1 "
                  "(.npy [rows] or [rows][targets], .csv with a header of names); K > 2: a "
                  "multinomial fit, scored by accuracy and macro precision, recall and F1")
      ->required();
  sub->add_option("--file-names", o->file_names,
                  "text file: the image file name of each feature row (for a .jsonl)");
  sub->add_option("--out", o->out, "output directory")->required();
  sub->add_option("--repeats", o->probe.repeats,
                  "splits per target (seeds seed..seed+repeats-1); 0: one fit on all rows, its "
                  "weights written")
      ->capture_default_str();
  sub->add_option("--test-fraction", o->probe.test_fraction, "the test part of each class")
      ->capture_default_str();
  sub->add_flag("--balance,!--no-balance", o->probe.balance,
                "keep each part's first rows of each class up to the smallest class's count")
      ->capture_default_str();
  sub->add_option("--feature-filter", o->filter,
                  "positive-mean (drop columns of mean <= 0, as the reference does) or none")
      ->capture_default_str();
  sub->add_option("--C", o->probe.C, "inverse L2 strength (scikit-learn's C)")
      ->capture_default_str();
  sub->add_option("--seed", o->probe.seed, "the first repeat's seed")->capture_default_str();
  sub->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  sub->add_flag("--force", o->force, "write into an output directory that holds files");
  sub->callback([o] { run(*o); });
}

}  // namespace xent::cli
