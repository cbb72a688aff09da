#include "experiments/imagenet_x/run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "experiments/imagenet_x/factor_figure.h"
#include "io/files.h"
#include "xent/error.h"
#include "xent/npy.h"

namespace xent {
namespace {

nlohmann::json value(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

std::string csv_value(double v) {
  if (!std::isfinite(v)) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void check_features(const std::vector<FeatureSet>& sets) {
  if (sets.empty()) throw InputError("--features: no feature set given");
  std::set<std::string> seen;
  for (const FeatureSet& f : sets) {
    if (!seen.insert(f.name).second)
      throw InputError("--features: the name " + f.name + " is given twice");
    if (f.rows != sets.front().rows)
      throw InputError("--features " + f.name + ": " + std::to_string(f.rows) + " rows, but " +
                       sets.front().name + " has " + std::to_string(sets.front().rows));
  }
}

// The fitted weights of a repeats = 0 run: NAME_weights.npy [targets][kept] and
// NAME_intercepts.npy [targets] when every target is binary, otherwise per target
// NAME_TARGET_weights.npy [k][kept] and NAME_TARGET_intercepts.npy [k] (k = 1 for a binary
// target, K for one of K classes).
void write_weights(const std::string& out, const FactorProbe& p,
                   const std::vector<std::string>& targets, bool multiclass) {
  if (!multiclass) {
    const auto T = static_cast<int64_t>(targets.size());
    write_npy(out + "/" + p.features + "_weights.npy", p.weights.data(), {T, p.kept});
    write_npy(out + "/" + p.features + "_intercepts.npy", p.intercepts.data(), {T});
    return;
  }
  size_t w = 0, b = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    const int64_t k = p.classes[t] == 2 ? 1 : p.classes[t];
    const std::string stem = out + "/" + p.features + "_" + targets[t];
    write_npy(stem + "_weights.npy", p.weights.data() + w, {k, p.kept});
    write_npy(stem + "_intercepts.npy", p.intercepts.data() + b, {k});
    w += static_cast<size_t>(k * p.kept);
    b += static_cast<size_t>(k);
  }
}

}  // namespace

FactorProbeOutcome run_factor_probes(Backend& b, const FactorProbeJob& job) {
  check_features(job.features);
  const FactorProbeOptions& po = job.options;
  if (!job.out.empty()) prepare_output_dir(job.out, job.force);
  FactorProbeOutcome o;
  for (const FeatureSet& f : job.features) {
    if (!job.quiet)
      std::fprintf(stderr, "xent probe-factors: %s [%lld x %d], %zu targets x %d repeats on %s\n",
                   f.name.c_str(), static_cast<long long>(f.rows), f.cols, job.targets.names.size(),
                   std::max(po.repeats, 1), b.name().c_str());
    o.probes.push_back(probe_factors(b, f, job.targets, po));
  }

  // Everything computed: now the files, each written whole or not at all. A run with a target of
  // more than two classes also lists each target's classes in results.json.
  for (const int K : o.probes.front().classes) o.multiclass = o.multiclass || K > 2;
  o.part = po.repeats == 0 ? "all" : "test";
  nlohmann::json results = nlohmann::json::array(), sets_json = nlohmann::json::array();
  std::string& csv = o.results_csv;
  csv = "features,target,repeat,part,rows,converged,iterations";
  for (const char* m : binary_metric_names()) csv += std::string(",") + m;
  csv += "\n";
  for (const FactorProbe& p : o.probes) {
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
  }
  o.results = {{"features", sets_json},
               {"targets", job.targets.names},
               {"options",
                {{"repeats", po.repeats},
                 {"test_fraction", po.test_fraction},
                 {"balance", po.balance},
                 {"feature_filter", po.positive_mean_filter ? "positive-mean" : "none"},
                 {"C", po.C},
                 {"seed", po.seed},
                 {"backend", b.name()}}},
               {"results", results}};
  if (o.multiclass) o.results["classes"] = o.probes.front().classes;
  if (job.out.empty()) return o;

  if (po.repeats == 0)
    for (const FactorProbe& p : o.probes)
      write_weights(job.out, p, job.targets.names, o.multiclass);
  write_file_atomic(job.out + "/results.csv", csv);
  write_file_atomic(job.out + "/results.json", o.results.dump(1) + "\n");
  // The figure last, written whole under a temporary name first like the other files.
  const std::string png = job.out + "/factors.png";
  write_factor_figure(png + ".tmp", o.probes, job.targets.names, o.part);
  if (std::rename((png + ".tmp").c_str(), png.c_str()) != 0)
    throw InputError(png + ": cannot rename the figure into place");
  return o;
}

}  // namespace xent
