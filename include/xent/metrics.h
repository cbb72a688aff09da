// Linear identifiability probes (DESIGN.md section 1, "Metrics").
#pragma once
#include <cstdint>

namespace xent {

struct ProbeResult {
  double r2_a = 0;   // R^2 of a linear regression with intercept, mean over target dimensions
  double r2_o = 0;   // the same without intercept
  double mae_o = 0;  // mean |singular value of the no-intercept map - scale|
  double mcc = 0;    // mean |Pearson r| of features and targets matched by the Hungarian algorithm
};

// Probes features [n][p] against targets [n][q] (row-major, double). The first
// round(n * split) rows fit the regressions, the rest score them; when split >= 1 or
// either part has fewer than p + 1 rows, fitting and scoring use all rows (in-sample).
// mae_o compares the singular values of the fitted no-intercept map (p x q) with `scale`.
// MCC is computed on the scoring rows. Throws InputError on shapes that cannot be probed.
ProbeResult probe_linear(const double* features, int64_t n, int p, const double* targets, int q,
                         double split, double scale);

}  // namespace xent
