// xent.probe_factors: `xent probe-factors` (host/experiments/imagenet_x/run.h) on arrays the
// package has checked, with the GIL released.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <utility>
#include <vector>

#include "experiments/imagenet_x/run.h"
#include "module.h"

namespace xent::py {
namespace {

using Rows = nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Labels = nb::ndarray<const int32_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// A repeats = 0 probe's weights and intercepts as `xent probe-factors` writes them to .npy:
// [targets][kept] and [targets] when every target is binary, otherwise per target [k][kept]
// and [k] (k = 1 for a binary target, K for one of K classes).
nb::dict weights(const FactorProbe& p, const std::vector<std::string>& targets, bool multiclass) {
  nb::dict out;
  const auto kept = static_cast<size_t>(p.kept);
  if (!multiclass) {
    out["weights"] = to_numpy(p.weights, {targets.size(), kept});
    out["intercepts"] = to_numpy(p.intercepts, {targets.size()});
    return out;
  }
  nb::dict w, b;
  size_t at_w = 0, at_b = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    const auto k = static_cast<size_t>(p.classes[t] == 2 ? 1 : p.classes[t]);
    const auto first_w = p.weights.begin() + static_cast<std::ptrdiff_t>(at_w);
    const auto first_b = p.intercepts.begin() + static_cast<std::ptrdiff_t>(at_b);
    w[targets[t].c_str()] = to_numpy(std::vector<double>(first_w, first_w + k * kept), {k, kept});
    b[targets[t].c_str()] = to_numpy(std::vector<double>(first_b, first_b + k), {k});
    at_w += k * kept;
    at_b += k;
  }
  out["weights"] = w;
  out["intercepts"] = b;
  return out;
}

}  // namespace

void bind_probe_factors(nb::module_& m) {
  // Probes every feature set (names[i]: arrays[i], [rows][p] float64) for every target
  // (labels [rows][targets], class indices) and, with out, writes the CLI's files. Returns
  // results.json's text, results.csv's text and, for repeats = 0, each set's weights.
  m.def(
      "probe_factors",
      [](const std::vector<std::string>& names, const std::vector<Rows>& arrays,
         const std::vector<std::string>& target_names, Labels labels, int repeats,
         double test_fraction, bool balance, bool positive_mean, double C, uint64_t seed,
         const std::string& out, bool force, const std::string& device) {
        FactorProbeJob job;
        for (size_t i = 0; i < names.size(); ++i) {
          FeatureSet f;
          f.name = names[i];
          f.rows = static_cast<int64_t>(arrays[i].shape(0));
          f.cols = static_cast<int>(arrays[i].shape(1));
          f.x.assign(arrays[i].data(), arrays[i].data() + arrays[i].size());
          job.features.push_back(std::move(f));
        }
        const size_t rows = labels.shape(0), T = labels.shape(1);
        job.targets.names = target_names;
        job.targets.labels.assign(T, std::vector<int32_t>(rows));
        for (size_t r = 0; r < rows; ++r)
          for (size_t t = 0; t < T; ++t) job.targets.labels[t][r] = labels.data()[r * T + t];
        job.options = {repeats, test_fraction, balance, positive_mean, C, seed};
        job.out = out;
        job.force = force;
        FactorProbeOutcome o;
        {
          nb::gil_scoped_release release;
          BackendOptions bo;
          bo.device = device;
          auto backend = make_backend(bo);
          o = run_factor_probes(*backend, job);
        }
        nb::dict w;
        if (repeats == 0)
          for (const FactorProbe& p : o.probes)
            w[p.features.c_str()] = weights(p, target_names, o.multiclass);
        return nb::make_tuple(o.results.dump(1), o.results_csv, w);
      },
      nb::arg("names"), nb::arg("arrays"), nb::arg("target_names"), nb::arg("labels"),
      nb::arg("repeats"), nb::arg("test_fraction"), nb::arg("balance"), nb::arg("positive_mean"),
      nb::arg("C"), nb::arg("seed"), nb::arg("out"), nb::arg("force"), nb::arg("device"));
}

}  // namespace xent::py
