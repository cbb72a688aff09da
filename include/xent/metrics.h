// Linear identifiability probes (docs/paper.md, Metrics).
#pragma once
#include <cstdint>
#include <vector>

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

// The same probe from sums over the rows, for a backend that keeps the rows where they are (the
// CUDA backend sums on the device; only p x q sized matrices reach the host).

// Which rows fit and which score, by probe_linear's rule: fit [0, fit_end), score
// [score_begin, n). Validates the arguments as probe_linear does (throws InputError).
struct ProbeRows {
  int64_t fit_end = 0;
  int64_t score_begin = 0;
};
ProbeRows probe_rows(int64_t n, int p, int q, double split, double scale);

// The p x q map (row-major) of the least-squares fit of Y to X from the moment matrix
// gram = Z^T Z of Z = [X | Y] (w = p + q, row-major, both blocks shifted as the caller chose).
// A pseudo-inverse of X^T X: eigen-directions below p * eps of the largest eigenvalue are
// dropped, the normal-equation counterpart of dgelsd's cut-off (directions that small cannot be
// resolved from X^T X in double anyway).
std::vector<double> least_squares_from_gram(const double* gram, int p, int q);

// Mean R^2 over q targets from the residual and total sums of squares over m rows, with
// probe_linear's rule for a target constant on those rows (ss_tot == 0, value `ymean`).
double r2_from_sums(const double* ss_res, const double* ss_tot, const double* ymean, int q,
                    int64_t m);

// mean |singular value of map (p x q) - scale|, probe_linear's mae_o.
double singular_value_error(const std::vector<double>& map, int p, int q, double scale);

// The Hungarian-matched mean |r| of a p x q correlation matrix, probe_linear's mcc.
double matched_mean_abs_corr(const std::vector<double>& r, int p, int q);

}  // namespace xent
