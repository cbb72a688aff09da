// Linear identifiability probes: R^2 with and without intercept, the singular values of the
// no-intercept map, and the Hungarian-matched mean correlation coefficient (docs/paper.md).
#include <lapacke.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "xent/error.h"
#include "xent/metrics.h"

namespace xent {
namespace {

std::string fmt_value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void check_finite(const double* a, int64_t n, int cols, const char* name) {
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < cols; ++j) {
      const double v = a[i * cols + j];
      if (!std::isfinite(v)) {
        throw InputError(std::string("probe: ") + name + " has a non-finite value (" +
                         fmt_value(v) + ") at row " + std::to_string(i) + ", column " +
                         std::to_string(j) + " (0-based)");
      }
    }
  }
}

// Least squares by LAPACK dgelsd (SVD, minimum-norm solution), as numpy.linalg.lstsq and
// sklearn's LinearRegression do. Normal equations square the condition number, so ~1e-10 accuracy
// would be lost on features whose condition number is only ~1e4; plain QR (dgels) fails on
// rank-deficient features, which real encoders produce (dead or constant units, duplicated
// columns, a constant column beside the intercept). dgelsd drops singular values below
// eps * max(rows, cols) of the largest, like numpy's default rcond, and needs no ridge.
//
// Fits rows [0, m) of x (row-major, stride p) minus xshift to y minus yshift; returns the p x q
// map, row-major.
std::vector<double> least_squares(const double* x, const double* y, int64_t m, int p, int q,
                                  const std::vector<double>& xshift,
                                  const std::vector<double>& yshift) {
  const int64_t ldb = std::max<int64_t>(m, p);
  std::vector<double> a(static_cast<size_t>(m * p));
  std::vector<double> b(static_cast<size_t>(ldb * q), 0.0);
  for (int64_t i = 0; i < m; ++i) {
    for (int j = 0; j < p; ++j) a[i + j * m] = x[i * p + j] - xshift[j];
    for (int k = 0; k < q; ++k) b[i + k * ldb] = y[i * q + k] - yshift[k];
  }
  std::vector<double> sv(static_cast<size_t>(std::min<int64_t>(m, p)));
  lapack_int rank = 0;
  const double rcond =
      std::numeric_limits<double>::epsilon() * static_cast<double>(std::max<int64_t>(m, p));
  const lapack_int info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, static_cast<lapack_int>(m), p, q,
                                         a.data(), static_cast<lapack_int>(m), b.data(),
                                         static_cast<lapack_int>(ldb), sv.data(), rcond, &rank);
  if (info != 0) {
    throw std::runtime_error("probe: LAPACK dgelsd failed (info " + std::to_string(info) + ")");
  }
  std::vector<double> map(static_cast<size_t>(p) * q);
  for (int j = 0; j < p; ++j) {
    for (int k = 0; k < q; ++k) map[j * q + k] = b[j + k * ldb];
  }
  return map;
}

// r2 of prediction yshift + (x - xshift) * map over rows [0, m), averaged uniformly over target
// columns. Predicting through the shifts (rather than through an intercept folded into them)
// keeps the centred model accurate when the means are large against the spread.
//
// A target constant on the scoring rows has SS_tot = 0 and no r2 of its own; like sklearn's
// r2_score (force_finite) it counts as 1 when predicted exactly and 0 otherwise. "Exactly"
// allows rounding: RMS residual at most 1e-9 of the constant, since the intercept fit recovers it
// only up to the rounding of a mean.
double mean_r2(const double* x, const double* y, int64_t m, int p, int q,
               const std::vector<double>& map, const std::vector<double>& xshift,
               const std::vector<double>& yshift) {
  std::vector<double> mean(q, 0.0), lo(q, std::numeric_limits<double>::infinity()),
      hi(q, -std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < m; ++i) {
    for (int k = 0; k < q; ++k) {
      const double v = y[i * q + k];
      mean[k] += v;
      lo[k] = std::min(lo[k], v);
      hi[k] = std::max(hi[k], v);
    }
  }
  for (double& v : mean) v /= static_cast<double>(m);
  std::vector<double> ss_res(q, 0.0), ss_tot(q, 0.0), pred(q);
  for (int64_t i = 0; i < m; ++i) {
    for (int k = 0; k < q; ++k) pred[k] = yshift[k];
    for (int j = 0; j < p; ++j) {
      const double dx = x[i * p + j] - xshift[j];
      const double* row = &map[static_cast<size_t>(j) * q];
      for (int k = 0; k < q; ++k) pred[k] += dx * row[k];
    }
    for (int k = 0; k < q; ++k) {
      const double r = y[i * q + k] - pred[k];
      const double t = y[i * q + k] - mean[k];
      ss_res[k] += r * r;
      ss_tot[k] += t * t;
    }
  }
  double sum = 0;
  for (int k = 0; k < q; ++k) {
    if (lo[k] == hi[k]) {
      const double tol = 1e-9 * std::abs(lo[k]);
      sum += ss_res[k] <= static_cast<double>(m) * tol * tol ? 1.0 : 0.0;
    } else {
      sum += 1.0 - ss_res[k] / ss_tot[k];
    }
  }
  return sum / q;
}

// Pearson correlations (p x q, row-major) between the columns of x and of y over m rows. A
// column that is constant on these rows has no correlation; it gets 0 so that the matching
// simply avoids it instead of propagating NaN.
std::vector<double> correlations(const double* x, const double* y, int64_t m, int p, int q) {
  std::vector<double> mx(p, 0.0), my(q, 0.0);
  std::vector<bool> cx(p, true), cy(q, true);
  for (int64_t i = 0; i < m; ++i) {
    for (int j = 0; j < p; ++j) {
      mx[j] += x[i * p + j];
      if (x[i * p + j] != x[j]) cx[j] = false;
    }
    for (int k = 0; k < q; ++k) {
      my[k] += y[i * q + k];
      if (y[i * q + k] != y[k]) cy[k] = false;
    }
  }
  for (double& v : mx) v /= static_cast<double>(m);
  for (double& v : my) v /= static_cast<double>(m);
  std::vector<double> sxy(static_cast<size_t>(p) * q, 0.0), sxx(p, 0.0), syy(q, 0.0), dx(p), dy(q);
  for (int64_t i = 0; i < m; ++i) {
    for (int j = 0; j < p; ++j) {
      dx[j] = x[i * p + j] - mx[j];
      sxx[j] += dx[j] * dx[j];
    }
    for (int k = 0; k < q; ++k) {
      dy[k] = y[i * q + k] - my[k];
      syy[k] += dy[k] * dy[k];
    }
    for (int j = 0; j < p; ++j) {
      double* row = &sxy[static_cast<size_t>(j) * q];
      for (int k = 0; k < q; ++k) row[k] += dx[j] * dy[k];
    }
  }
  std::vector<double> r(static_cast<size_t>(p) * q, 0.0);
  for (int j = 0; j < p; ++j) {
    for (int k = 0; k < q; ++k) {
      if (cx[j] || cy[k]) continue;
      const double denom = std::sqrt(sxx[j] * syy[k]);
      const double v = sxy[static_cast<size_t>(j) * q + k] / denom;
      r[static_cast<size_t>(j) * q + k] = std::isfinite(v) ? std::clamp(v, -1.0, 1.0) : 0.0;
    }
  }
  return r;
}

// Maximum-weight perfect matching on an n x n weight matrix (row-major) by the Hungarian
// algorithm in its O(n^3) shortest-augmenting-path form with row and column potentials. Rows are
// added one at a time; each addition grows a Dijkstra-like tree over columns with reduced costs
// until it reaches a free column, then flips the path. Returns the column matched to each row.
std::vector<int> hungarian_max(const std::vector<double>& w, int n) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // Columns and rows are 1-based below; index 0 is the virtual start column of each search.
  std::vector<double> row_pot(n + 1, 0.0), col_pot(n + 1, 0.0), slack(n + 1);
  std::vector<int> col_row(n + 1, 0), prev_col(n + 1, 0);
  std::vector<bool> in_tree(n + 1);
  auto cost = [&](int row, int col) { return -w[static_cast<size_t>(row - 1) * n + (col - 1)]; };
  for (int row = 1; row <= n; ++row) {
    col_row[0] = row;
    int col = 0;
    std::fill(slack.begin(), slack.end(), kInf);
    std::fill(in_tree.begin(), in_tree.end(), false);
    while (col_row[col] != 0) {
      in_tree[col] = true;
      const int r = col_row[col];
      double delta = kInf;
      int next = 0;
      for (int c = 1; c <= n; ++c) {
        if (in_tree[c]) continue;
        const double reduced = cost(r, c) - row_pot[r] - col_pot[c];
        if (reduced < slack[c]) {
          slack[c] = reduced;
          prev_col[c] = col;
        }
        if (slack[c] < delta) {
          delta = slack[c];
          next = c;
        }
      }
      for (int c = 0; c <= n; ++c) {
        if (in_tree[c]) {
          row_pot[col_row[c]] += delta;
          col_pot[c] -= delta;
        } else {
          slack[c] -= delta;
        }
      }
      col = next;
    }
    while (col != 0) {
      const int back = prev_col[col];
      col_row[col] = col_row[back];
      col = back;
    }
  }
  std::vector<int> match(n, -1);
  for (int c = 1; c <= n; ++c) match[col_row[c] - 1] = c - 1;
  return match;
}

// Mean |r| over the min(p, q) pairs of a one-to-one matching that maximises the sum of |r|. The
// rectangular problem is padded to square with zero weights, which any matching may take freely,
// so the real pairs of the optimum are an optimal rectangular matching.
}  // namespace

double matched_mean_abs_corr(const std::vector<double>& r, int p, int q) {
  const int n = std::max(p, q);
  std::vector<double> w(static_cast<size_t>(n) * n, 0.0);
  for (int j = 0; j < p; ++j) {
    for (int k = 0; k < q; ++k) {
      w[static_cast<size_t>(j) * n + k] = std::abs(r[static_cast<size_t>(j) * q + k]);
    }
  }
  const std::vector<int> match = hungarian_max(w, n);
  double sum = 0;
  for (int j = 0; j < p; ++j) {
    if (match[j] < q) sum += w[static_cast<size_t>(j) * n + match[j]];
  }
  return sum / std::min(p, q);
}

double singular_value_error(const std::vector<double>& map, int p, int q, double scale) {
  std::vector<double> a(static_cast<size_t>(p) * q);
  for (int j = 0; j < p; ++j) {
    for (int k = 0; k < q; ++k)
      a[j + static_cast<size_t>(k) * p] = map[static_cast<size_t>(j) * q + k];
  }
  const int k_min = std::min(p, q);
  std::vector<double> sv(k_min), superb(std::max(k_min - 1, 1));
  const lapack_int info = LAPACKE_dgesvd(LAPACK_COL_MAJOR, 'N', 'N', p, q, a.data(), p, sv.data(),
                                         nullptr, 1, nullptr, 1, superb.data());
  if (info != 0) {
    throw std::runtime_error("probe: LAPACK dgesvd failed (info " + std::to_string(info) + ")");
  }
  double sum = 0;
  for (double s : sv) sum += std::abs(s - scale);
  return sum / k_min;
}

ProbeRows probe_rows(int64_t n, int p, int q, double split, double scale) {
  if (n < 2) throw InputError("probe: need at least 2 rows, got " + std::to_string(n));
  if (p < 1) throw InputError("probe: features have no columns");
  if (q < 1) throw InputError("probe: targets have no columns");
  if (n > INT_MAX) {
    throw InputError("probe: " + std::to_string(n) + " rows is more than LAPACK can index");
  }
  if (!(split > 0) || !std::isfinite(split)) {
    throw InputError(
        "probe: split must be a positive fraction of the rows (>= 1: in-sample), got " +
        fmt_value(split));
  }
  if (!(scale >= 0) || !std::isfinite(scale)) {
    throw InputError("probe: scale must be finite and >= 0, got " + fmt_value(scale));
  }
  // Keep this rule in step with the comment in metrics.h (and the CLI's report of it).
  ProbeRows rows;
  rows.fit_end = split >= 1 ? n : std::llround(static_cast<double>(n) * split);
  rows.score_begin = rows.fit_end;
  if (split >= 1 || rows.fit_end < p + 1 || n - rows.fit_end < p + 1) {
    rows.fit_end = n;
    rows.score_begin = 0;
  }
  return rows;
}

std::vector<double> least_squares_from_gram(const double* gram, int p, int q) {
  const int w = p + q;
  std::vector<double> xx(static_cast<size_t>(p) * p), eig(p);
  for (int i = 0; i < p; ++i)
    for (int j = 0; j < p; ++j) xx[static_cast<size_t>(i) * p + j] = gram[i * w + j];
  const lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', p, xx.data(), p, eig.data());
  if (info != 0) {
    throw std::runtime_error("probe: LAPACK dsyevd failed (info " + std::to_string(info) + ")");
  }
  // map = V diag(1/eig) V^T X^T Y over the kept directions; columns of xx are eigenvectors.
  const double cut = eig[p - 1] * p * std::numeric_limits<double>::epsilon();
  std::vector<double> map(static_cast<size_t>(p) * q, 0.0), proj(q);
  for (int e = 0; e < p; ++e) {
    if (!(eig[e] > cut)) continue;
    for (int k = 0; k < q; ++k) {
      double s = 0;
      for (int i = 0; i < p; ++i) s += xx[static_cast<size_t>(i) * p + e] * gram[i * w + p + k];
      proj[k] = s / eig[e];
    }
    for (int i = 0; i < p; ++i)
      for (int k = 0; k < q; ++k)
        map[static_cast<size_t>(i) * q + k] += xx[static_cast<size_t>(i) * p + e] * proj[k];
  }
  return map;
}

double r2_from_sums(const double* ss_res, const double* ss_tot, const double* ymean, int q,
                    int64_t m) {
  double sum = 0;
  for (int k = 0; k < q; ++k) {
    if (ss_tot[k] == 0) {
      // mean_r2's rule for a constant target (see there).
      const double tol = 1e-9 * std::abs(ymean[k]);
      sum += ss_res[k] <= static_cast<double>(m) * tol * tol ? 1.0 : 0.0;
    } else {
      sum += 1.0 - ss_res[k] / ss_tot[k];
    }
  }
  return sum / q;
}

ProbeResult probe_linear(const double* features, int64_t n, int p, const double* targets, int q,
                         double split, double scale) {
  const ProbeRows rows = probe_rows(n, p, q, split, scale);
  check_finite(features, n, p, "features");
  check_finite(targets, n, q, "targets");
  const int64_t n_fit = rows.fit_end;
  const int64_t score_begin = rows.score_begin;
  const int64_t n_score = n - score_begin;
  const double* fx = features;
  const double* fy = targets;
  const double* sx = features + score_begin * p;
  const double* sy = targets + score_begin * q;

  std::vector<double> xmean(p, 0.0), ymean(q, 0.0);
  for (int64_t i = 0; i < n_fit; ++i) {
    for (int j = 0; j < p; ++j) xmean[j] += fx[i * p + j];
    for (int k = 0; k < q; ++k) ymean[k] += fy[i * q + k];
  }
  for (double& v : xmean) v /= static_cast<double>(n_fit);
  for (double& v : ymean) v /= static_cast<double>(n_fit);
  const std::vector<double> zx(p, 0.0), zy(q, 0.0);

  ProbeResult res;
  // The intercept fit is the no-intercept fit of centred data, with intercept
  // ymean - xmean * map; centring also removes the mean's contribution to the conditioning.
  const std::vector<double> map_a = least_squares(fx, fy, n_fit, p, q, xmean, ymean);
  res.r2_a = mean_r2(sx, sy, n_score, p, q, map_a, xmean, ymean);
  const std::vector<double> map_o = least_squares(fx, fy, n_fit, p, q, zx, zy);
  res.r2_o = mean_r2(sx, sy, n_score, p, q, map_o, zx, zy);
  res.mae_o = singular_value_error(map_o, p, q, scale);
  res.mcc = matched_mean_abs_corr(correlations(sx, sy, n_score, p, q), p, q);
  return res;
}

}  // namespace xent
