// kernels/probe.cu against plain double references (tests/reference/probe_moments.cpp), and the
// normal equations solved from the kernels' moments against xent::probe_linear (LAPACK dgelsd).
//
// Tolerances. Kernel and twin add the same double terms in different orders (the kernel by
// chunks of rows, then the chunks). A sum of m terms in any order is within (m - 1) u sum|terms|
// of the exact sum (u = eps / 2), and each product term rounds once more (or, under FMA
// contraction on the GPU, not at all), so two orders differ by at most (m + 1) eps sum|terms|:
// about 1.1e-12 of sum|terms| at m = 5000. Random rounding makes the real difference far smaller;
// the bound only has to be one the GPU build can never exceed.
#include "kernel_harness.h"
//
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/probe.h"
#include "reference/probe_moments.h"
#include "xent/metrics.h"

namespace {

namespace kern = xent::kernels;
namespace test = xent::test;
using xent::test::DeviceVector;

constexpr double kEps = std::numeric_limits<double>::epsilon();

double order_bound(int64_t m) { return static_cast<double>(m + 1) * kEps; }

size_t sz(int64_t n) { return static_cast<size_t>(n); }

std::vector<float> normals(int64_t count, uint32_t seed, float mean, float sd) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(mean, sd);
  std::vector<float> out(sz(count));
  for (float& v : out) v = dist(gen);
  return out;
}

// x ~ N(2, 1) per entry (an offset, so that centring matters); y = x a + 0.3 N(0, 1) + 1 with
// a [p][q] ~ N(0, 1 / p): r2 well inside (0, 1), so that both sums of R^2 are non-trivial.
struct Data {
  int K = 1;
  int64_t n = 0;
  int p = 0, q = 0;
  std::vector<float> x, y;
  std::vector<double> a;  // [K][p][q]
};

Data make_data(int K, int64_t n, int p, int q, uint32_t seed) {
  Data d;
  d.K = K;
  d.n = n;
  d.p = p;
  d.q = q;
  d.x = normals(K * n * p, seed, 2.0f, 1.0f);
  d.y = normals(K * n * q, seed + 1, 1.0f, 0.3f);
  std::mt19937 gen(seed + 2);
  std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(static_cast<double>(p)));
  d.a.resize(sz(int64_t{K} * p * q));
  for (double& v : d.a) v = normal(gen);
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t i = 0; i < n; ++i) {
      for (int c = 0; c < q; ++c) {
        double s = 0;
        for (int j = 0; j < p; ++j)
          s += d.x[sz((k * n + i) * p + j)] * d.a[sz((k * p + j) * q + c)];
        d.y[sz((k * n + i) * q + c)] += static_cast<float>(s);
      }
    }
  }
  return d;
}

// Scratch for a launcher; never empty, so that get() is a real pointer.
size_t scratch_size(int64_t doubles) { return sz(std::max<int64_t>(doubles, 1)); }

// ---- scratch sizes ---------------------------------------------------------------------------

// Callers size one buffer for their largest call (all n rows) and reuse it for the fitting and
// scoring ranges, so no size may shrink as a shape grows. Host arithmetic only.
TEST(ProbeKernel, ScratchSizesNeverShrinkAsShapesGrow) {
  for (const int K : {1, 3, 100}) {
    for (int64_t rows = 1; rows <= 6000; ++rows) {
      for (const int cols : {1, 3, 20, 32, 33, 50, 1000}) {
        ASSERT_GE(kern::probe_column_means_scratch(K, rows, cols),
                  kern::probe_column_means_scratch(K, rows - 1, cols));
        ASSERT_GE(kern::probe_column_means_scratch(K, rows, cols + 1),
                  kern::probe_column_means_scratch(K, rows, cols));
        ASSERT_GE(kern::probe_residuals_scratch(K, rows, cols),
                  kern::probe_residuals_scratch(K, rows - 1, cols));
        ASSERT_GE(kern::probe_residuals_scratch(K, rows, cols + 1),
                  kern::probe_residuals_scratch(K, rows, cols));
      }
      for (const auto& [p, q] :
           std::vector<std::pair<int, int>>{{1, 1}, {20, 3}, {50, 20}, {1000, 20}}) {
        for (const bool full : {true, false}) {
          ASSERT_GE(kern::probe_moments_scratch(K, rows, p, q, full),
                    kern::probe_moments_scratch(K, rows - 1, p, q, full));
        }
        ASSERT_GE(kern::probe_moments_scratch(K, rows, p, q, true),
                  kern::probe_moments_scratch(K, rows, p, q, false));
      }
    }
  }
}

// ---- column means ----------------------------------------------------------------------------

std::vector<double> kernel_means(int K, int64_t n, int cols, const DeviceVector<float>& a,
                                 int64_t begin, int64_t end) {
  DeviceVector<double> mean(sz(int64_t{K} * cols));
  DeviceVector<double> scratch(
      scratch_size(kern::probe_column_means_scratch(K, end - begin, cols)));
  kern::probe_column_means(K, n, cols, a.get(), begin, end, mean.get(), scratch.get(), nullptr);
  return mean.download();
}

void check_means(int K, int64_t n, int cols, int64_t begin, int64_t end, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "K=" << K << " n=" << n << " cols=" << cols << " rows ["
                                  << begin << ", " << end << ")");
  const std::vector<float> a = normals(K * n * cols, seed, 2.0f, 1.0f);
  std::vector<double> want(sz(int64_t{K} * cols));
  test::probe_column_means(K, n, cols, a.data(), begin, end, want.data());
  const std::vector<double> got = kernel_means(K, n, cols, DeviceVector<float>(a), begin, end);
  const int64_t m = end - begin;
  for (int64_t k = 0; k < K; ++k) {
    for (int c = 0; c < cols; ++c) {
      double abs_sum = 0;
      for (int64_t i = begin; i < end; ++i) abs_sum += std::fabs(a[sz((k * n + i) * cols + c)]);
      // The sum's bound, divided by m like the sum; the division rounds alike in both.
      const double tol = order_bound(m) * abs_sum / static_cast<double>(m);
      const size_t e = sz(k * cols + c);
      ASSERT_NEAR(got[e], want[e], tol) << "k=" << k << " c=" << c;
    }
  }
}

TEST(ProbeKernel, ColumnMeansMatchCpu) {
  XENT_REQUIRE_DEVICE();
  check_means(1, 1, 1, 0, 1, 1);
  check_means(3, 7, 3, 0, 7, 2);
  check_means(2, 7, 50, 3, 7, 3);
  check_means(1, 4999, 20, 0, 2500, 4);
  check_means(2, 4999, 3, 2500, 4999, 5);
  check_means(1, 5000, 50, 0, 5000, 6);
}

// ---- moments ---------------------------------------------------------------------------------

constexpr double kUntouched =
    12345.0;  // prefilled; full_xx = false must leave X^T X's off-diagonal

struct MomentCase {
  int K;
  int64_t n;
  int p, q;
  int64_t begin, end;
  bool centred, full_xx;
};

void check_moments(const MomentCase& mc, uint32_t seed) {
  const auto [K, n, p, q, begin, end, centred, full_xx] = mc;
  SCOPED_TRACE(testing::Message() << "K=" << K << " n=" << n << " p=" << p << " q=" << q
                                  << " rows [" << begin << ", " << end << ") centred=" << centred
                                  << " full_xx=" << full_xx);
  const Data d = make_data(K, n, p, q, seed);
  std::vector<double> xs(sz(int64_t{K} * p)), ys(sz(int64_t{K} * q));
  test::probe_column_means(K, n, p, d.x.data(), begin, end, xs.data());
  test::probe_column_means(K, n, q, d.y.data(), begin, end, ys.data());
  const double* xshift = centred ? xs.data() : nullptr;
  const double* yshift = centred ? ys.data() : nullptr;

  const int w = p + q;
  std::vector<double> want(sz(int64_t{K} * w * w), kUntouched);
  test::probe_moments(K, n, p, q, d.x.data(), d.y.data(), begin, end, xshift, yshift, full_xx,
                      want.data());

  DeviceVector<float> dx(d.x), dy(d.y);
  DeviceVector<double> dxs(xs), dys(ys), gram(want.size());
  gram.upload(std::vector<double>(want.size(), kUntouched));
  DeviceVector<double> scratch(
      scratch_size(kern::probe_moments_scratch(K, end - begin, p, q, full_xx)));
  kern::probe_moments(K, n, p, q, dx.get(), dy.get(), begin, end, centred ? dxs.get() : nullptr,
                      centred ? dys.get() : nullptr, full_xx, gram.get(), scratch.get(), nullptr);
  const std::vector<double> got = gram.download();

  std::vector<double> z(sz(w)), abs_gram(sz(int64_t{w} * w));
  for (int64_t k = 0; k < K; ++k) {
    std::fill(abs_gram.begin(), abs_gram.end(), 0.0);
    for (int64_t i = begin; i < end; ++i) {
      for (int j = 0; j < p; ++j)
        z[sz(j)] = d.x[sz((k * n + i) * p + j)] - (centred ? xs[sz(k * p + j)] : 0.0);
      for (int c = 0; c < q; ++c)
        z[sz(p + c)] = d.y[sz((k * n + i) * q + c)] - (centred ? ys[sz(k * q + c)] : 0.0);
      for (int a = 0; a < w; ++a)
        for (int b = 0; b < w; ++b) abs_gram[sz(a * w + b)] += std::fabs(z[sz(a)] * z[sz(b)]);
    }
    for (int a = 0; a < w; ++a) {
      for (int b = 0; b < w; ++b) {
        const size_t e = sz((k * w + a) * w + b);
        if (!full_xx && a < p && b < p && a != b) {
          ASSERT_EQ(got[e], kUntouched) << "k=" << k << " a=" << a << " b=" << b;
          continue;
        }
        ASSERT_NEAR(got[e], want[e], order_bound(end - begin) * abs_gram[sz(a * w + b)])
            << "k=" << k << " a=" << a << " b=" << b;
      }
    }
  }
}

TEST(ProbeKernel, MomentsMatchCpuOnSmallShapes) {
  XENT_REQUIRE_DEVICE();
  uint32_t seed = 10;
  for (const MomentCase& mc :
       {MomentCase{1, 1, 1, 1, 0, 1, true, true}, MomentCase{3, 7, 3, 1, 0, 7, true, true},
        MomentCase{2, 7, 1, 3, 2, 7, false, true}, MomentCase{2, 7, 3, 3, 0, 7, true, false},
        MomentCase{2, 300, 20, 3, 0, 300, true, false},
        MomentCase{1, 129, 100, 3, 0, 129, true, false}})
    check_moments(mc, seed++);
}

TEST(ProbeKernel, MomentsMatchCpuOnLargeShapes) {
  XENT_REQUIRE_DEVICE();
  uint32_t seed = 20;
  for (const MomentCase& mc : {MomentCase{1, 4999, 3, 20, 0, 4999, true, true},
                               MomentCase{2, 2001, 20, 3, 1000, 2001, false, true},
                               MomentCase{2, 4999, 50, 50, 1, 4999, true, true}})
    check_moments(mc, seed++);
}

// ---- residuals -------------------------------------------------------------------------------

void check_residuals(int K, int64_t n, int p, int q, int64_t begin, int64_t end, bool intercept,
                     uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "K=" << K << " n=" << n << " p=" << p << " q=" << q
                                  << " rows [" << begin << ", " << end
                                  << ") intercept=" << intercept);
  const Data d = make_data(K, n, p, q, seed);
  // The true map, perturbed: residuals of about the noise's size, as a fitted probe leaves.
  std::vector<double> map = d.a;
  std::mt19937 gen(seed + 7);
  std::normal_distribution<double> normal(0.0, 0.01);
  for (double& v : map) v += normal(gen);
  std::vector<double> xs(sz(int64_t{K} * p)), ys(sz(int64_t{K} * q)), ym(sz(int64_t{K} * q));
  test::probe_column_means(K, n, p, d.x.data(), 0, n, xs.data());
  test::probe_column_means(K, n, q, d.y.data(), 0, n, ys.data());
  test::probe_column_means(K, n, q, d.y.data(), begin, end, ym.data());
  const double* xshift = intercept ? xs.data() : nullptr;
  const double* yshift = intercept ? ys.data() : nullptr;
  std::vector<double> want_res(sz(int64_t{K} * q)), want_tot(want_res.size());
  test::probe_residuals(K, n, p, q, d.x.data(), d.y.data(), begin, end, map.data(), xshift, yshift,
                        ym.data(), want_res.data(), want_tot.data());

  DeviceVector<float> dx(d.x), dy(d.y);
  DeviceVector<double> dmap(map), dxs(xs), dys(ys), dym(ym), res(want_res.size()),
      tot(want_res.size());
  DeviceVector<double> scratch(scratch_size(kern::probe_residuals_scratch(K, end - begin, q)));
  kern::probe_residuals(K, n, p, q, dx.get(), dy.get(), begin, end, dmap.get(),
                        intercept ? dxs.get() : nullptr, intercept ? dys.get() : nullptr, dym.get(),
                        res.get(), tot.get(), scratch.get(), nullptr);
  const std::vector<double> got_res = res.download(), got_tot = tot.download();

  const int64_t m = end - begin;
  for (int64_t k = 0; k < K; ++k) {
    for (int c = 0; c < q; ++c) {
      // Emulated, each row's prediction is the twin's expression in the twin's order, so the
      // residuals are the same bits and only the order of the sum differs (all terms >= 0, so
      // sum|terms| is the sum itself). On the GPU, FMA contraction moves each prediction by up
      // to about (p + 2) eps S_i (S_i = |yshift| + sum_j |dx_j map_jk|, the sum's magnitude),
      // which moves r_i^2 by up to (2 |r_i| + delta_i) delta_i.
      double contraction = 0;
      if (!xent::test::kEmulated) {
        for (int64_t i = begin; i < end; ++i) {
          double pred = intercept ? ys[sz(k * q + c)] : 0.0;
          double s = std::fabs(pred);
          for (int j = 0; j < p; ++j) {
            const double dxj = d.x[sz((k * n + i) * p + j)] - (intercept ? xs[sz(k * p + j)] : 0.0);
            pred += dxj * map[sz((k * p + j) * q + c)];
            s += std::fabs(dxj * map[sz((k * p + j) * q + c)]);
          }
          const double r = std::fabs(d.y[sz((k * n + i) * q + c)] - pred);
          const double delta = (p + 2) * kEps * s;
          contraction += (2 * r + delta) * delta;
        }
      }
      const size_t e = sz(k * q + c);
      ASSERT_NEAR(got_res[e], want_res[e], order_bound(m) * want_res[e] + contraction)
          << "k=" << k << " c=" << c;
      ASSERT_NEAR(got_tot[e], want_tot[e], order_bound(m) * want_tot[e]) << "k=" << k << " c=" << c;
    }
  }
}

TEST(ProbeKernel, ResidualsMatchCpu) {
  XENT_REQUIRE_DEVICE();
  check_residuals(1, 1, 1, 1, 0, 1, true, 30);
  check_residuals(3, 7, 3, 3, 2, 7, true, 31);
  check_residuals(2, 7, 50, 1, 0, 7, false, 32);
  check_residuals(2, 4999, 20, 3, 2500, 4999, true, 33);
  check_residuals(1, 4999, 3, 50, 0, 4999, false, 34);
  check_residuals(1, 1001, 50, 20, 1, 1001, true, 35);
}

// ---- correlations ----------------------------------------------------------------------------

TEST(ProbeKernel, CorrelationsAreTheTwinsBitsOnTheSameMoments) {
  XENT_REQUIRE_DEVICE();
  // Division and square root round correctly in double on both sides, and nothing can contract.
  for (const auto& [K, p, q] :
       std::vector<std::tuple<int, int, int>>{{1, 1, 1}, {2, 3, 20}, {1, 50, 50}, {3, 20, 3}}) {
    const Data d = make_data(K, 33, p, q, static_cast<uint32_t>(40 + p + q));
    std::vector<double> xs(sz(int64_t{K} * p)), ys(sz(int64_t{K} * q));
    test::probe_column_means(K, 33, p, d.x.data(), 0, 33, xs.data());
    test::probe_column_means(K, 33, q, d.y.data(), 0, 33, ys.data());
    const int w = p + q;
    std::vector<double> gram(sz(int64_t{K} * w * w));
    test::probe_moments(K, 33, p, q, d.x.data(), d.y.data(), 0, 33, xs.data(), ys.data(), true,
                        gram.data());
    std::vector<double> want(sz(int64_t{K} * p * q));
    test::probe_correlations(K, p, q, gram.data(), want.data());
    DeviceVector<double> dgram(gram), r(want.size());
    kern::probe_correlations(K, p, q, dgram.get(), r.get(), nullptr);
    const std::vector<double> got = r.download();
    for (size_t e = 0; e < want.size(); ++e) ASSERT_EQ(got[e], want[e]) << "p=" << p << " e=" << e;
  }
}

// The pipeline MCC runs on (means, moments without X^T X's off-diagonal, correlations), with a
// constant feature and a constant target, which must come out exactly 0 as probe_linear has them.
TEST(ProbeKernel, CorrelationPipelineMatchesCpuWithConstantColumns) {
  XENT_REQUIRE_DEVICE();
  constexpr int K = 2, p = 20, q = 3;
  // m = 1006 rows: there (m c) * (1 / m) misses both constants c, so only a true division
  // gives their means exactly.
  constexpr int64_t n = 3001, begin = 1995, end = n, m = end - begin;
  Data d = make_data(K, n, p, q, 50);
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t i = begin; i < end; ++i) {
      d.x[sz((k * n + i) * p + 4)] = 2.7f;  // not a power of two: the mean must still be exact
      d.y[sz((k * n + i) * q + 1)] = -1.3f;
    }
  }
  std::vector<double> xs(sz(int64_t{K} * p)), ys(sz(int64_t{K} * q));
  test::probe_column_means(K, n, p, d.x.data(), begin, end, xs.data());
  test::probe_column_means(K, n, q, d.y.data(), begin, end, ys.data());
  const int w = p + q;
  std::vector<double> gram(sz(int64_t{K} * w * w));
  test::probe_moments(K, n, p, q, d.x.data(), d.y.data(), begin, end, xs.data(), ys.data(), false,
                      gram.data());
  std::vector<double> want(sz(int64_t{K} * p * q));
  test::probe_correlations(K, p, q, gram.data(), want.data());

  DeviceVector<float> dx(d.x), dy(d.y);
  DeviceVector<double> dxs(xs.size()), dys(ys.size()), dgram(gram.size()), r(want.size());
  DeviceVector<double> s_means(scratch_size(std::max(kern::probe_column_means_scratch(K, m, p),
                                                     kern::probe_column_means_scratch(K, m, q))));
  DeviceVector<double> s_moments(scratch_size(kern::probe_moments_scratch(K, m, p, q, false)));
  kern::probe_column_means(K, n, p, dx.get(), begin, end, dxs.get(), s_means.get(), nullptr);
  kern::probe_column_means(K, n, q, dy.get(), begin, end, dys.get(), s_means.get(), nullptr);
  kern::probe_moments(K, n, p, q, dx.get(), dy.get(), begin, end, dxs.get(), dys.get(), false,
                      dgram.get(), s_moments.get(), nullptr);
  kern::probe_correlations(K, p, q, dgram.get(), r.get(), nullptr);
  const std::vector<double> got = r.download(), got_xs = dxs.download(), got_ys = dys.download();
  const std::vector<double> got_gram = dgram.download();

  for (int64_t k = 0; k < K; ++k) {
    EXPECT_EQ(got_xs[sz(k * p + 4)], static_cast<double>(2.7f));
    EXPECT_EQ(got_ys[sz(k * q + 1)], static_cast<double>(-1.3f));
    EXPECT_EQ(got_gram[sz((k * w + 4) * w + 4)], 0.0);
    EXPECT_EQ(got_gram[sz((k * w + p + 1) * w + p + 1)], 0.0);
    for (int j = 0; j < p; ++j) {
      for (int c = 0; c < q; ++c) {
        const size_t e = sz((k * p + j) * q + c);
        if (j == 4 || c == 1) {
          ASSERT_EQ(got[e], 0.0) << "k=" << k << " j=" << j << " c=" << c;
          continue;
        }
        // Each moment is within (m + 1) eps sum|terms| of the twin's, and by Cauchy-Schwarz
        // sum|dx dy| <= sqrt(sxx syy): so r moves by at most (m + 1) eps (1 + |r|) plus a few
        // eps of rounding; the kernel's slightly different means shift the centred sums only
        // to second order. Hence 3 (m + 2) eps.
        ASSERT_NEAR(got[e], want[e], 3.0 * static_cast<double>(m + 2) * kEps)
            << "k=" << k << " j=" << j << " c=" << c;
      }
    }
  }
}

// ---- the normal equations against probe_linear ------------------------------------------------

// Solves a x = b (a symmetric positive definite, n x n, row stride lda) for each of the nrhs
// columns of b (row stride ldb) by Cholesky; returns x [n][nrhs].
std::vector<double> cholesky_solve(const double* a, int lda, const double* b, int ldb, int n,
                                   int nrhs) {
  std::vector<double> l(sz(int64_t{n} * n), 0.0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j <= i; ++j) {
      double s = a[sz(int64_t{i} * lda + j)];
      for (int t = 0; t < j; ++t) s -= l[sz(i * n + t)] * l[sz(j * n + t)];
      l[sz(i * n + j)] = i == j ? std::sqrt(s) : s / l[sz(j * n + j)];
    }
  }
  std::vector<double> x(sz(int64_t{n} * nrhs));
  std::vector<double> v(sz(n));
  for (int c = 0; c < nrhs; ++c) {
    for (int i = 0; i < n; ++i) {
      double s = b[sz(int64_t{i} * ldb + c)];
      for (int t = 0; t < i; ++t) s -= l[sz(i * n + t)] * v[sz(t)];
      v[sz(i)] = s / l[sz(i * n + i)];
    }
    for (int i = n - 1; i >= 0; --i) {
      double s = v[sz(i)];
      for (int t = i + 1; t < n; ++t) s -= l[sz(t * n + i)] * x[sz(t * nrhs + c)];
      x[sz(i * nrhs + c)] = s / l[sz(i * n + i)];
    }
  }
  return x;
}

// The largest mean |r| over one-to-one matchings of the q target columns to feature columns
// (q <= p, q small): probe_linear's Hungarian MCC by brute force.
double best_matching(const std::vector<double>& r, int p, int q, int c, std::vector<bool>& used) {
  if (c == q) return 0.0;
  double best = -1.0;
  for (int j = 0; j < p; ++j) {
    if (used[sz(j)]) continue;
    used[sz(j)] = true;
    best = std::max(best, std::fabs(r[sz(j * q + c)]) + best_matching(r, p, q, c + 1, used));
    used[sz(j)] = false;
  }
  return best;
}

// R2_a, R2_o and MCC of K replicas from the kernels, each replica against probe_linear on the
// same (float-valued) data, split 0.5.
void check_against_probe_linear(int K, int64_t n, int p, int q, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "K=" << K << " n=" << n << " p=" << p << " q=" << q);
  const Data d = make_data(K, n, p, q, seed);
  const int64_t n_fit = std::llround(static_cast<double>(n) * 0.5);
  ASSERT_GE(n_fit, p + 1);  // else probe_linear scores in-sample
  ASSERT_GE(n - n_fit, p + 1);
  const int w = p + q;
  DeviceVector<float> dx(d.x), dy(d.y);
  DeviceVector<double> xm(sz(int64_t{K} * p)), ym(sz(int64_t{K} * q)), xm_s(xm.size()),
      ym_s(ym.size()), gram(sz(int64_t{K} * w * w)), map(sz(int64_t{K} * p * q)), ss_res(ym.size()),
      ss_tot(ym.size()), r(map.size());
  // Sized as a caller would: once, for all n rows and the widest call (the sizes never shrink as
  // a shape grows), then reused by every range; the sanitizer build checks the claim.
  DeviceVector<double> scratch(scratch_size(std::max({kern::probe_column_means_scratch(K, n, p + q),
                                                      kern::probe_moments_scratch(K, n, p, q, true),
                                                      kern::probe_residuals_scratch(K, n, q)})));
  double* s = scratch.get();
  kern::probe_column_means(K, n, p, dx.get(), 0, n_fit, xm.get(), s, nullptr);
  kern::probe_column_means(K, n, q, dy.get(), 0, n_fit, ym.get(), s, nullptr);
  kern::probe_column_means(K, n, q, dy.get(), n_fit, n, ym_s.get(), s, nullptr);

  // One regression: moments over the fitting rows, B = Sxx^-1 Sxy on the host, then the R^2 of
  // the scoring rows.
  auto r2 = [&](bool intercept) {
    const double* xshift = intercept ? xm.get() : nullptr;
    const double* yshift = intercept ? ym.get() : nullptr;
    kern::probe_moments(K, n, p, q, dx.get(), dy.get(), 0, n_fit, xshift, yshift, true, gram.get(),
                        s, nullptr);
    const std::vector<double> g = gram.download();
    std::vector<double> b(map.size());
    for (int64_t k = 0; k < K; ++k) {
      const double* gk = g.data() + k * w * w;
      const std::vector<double> bk = cholesky_solve(gk, w, gk + p, w, p, q);
      std::copy(bk.begin(), bk.end(), b.begin() + k * p * q);
    }
    map.upload(b);
    kern::probe_residuals(K, n, p, q, dx.get(), dy.get(), n_fit, n, map.get(), xshift, yshift,
                          ym_s.get(), ss_res.get(), ss_tot.get(), s, nullptr);
    const std::vector<double> res = ss_res.download(), tot = ss_tot.download();
    std::vector<double> out(sz(K), 0.0);
    for (int64_t k = 0; k < K; ++k) {
      for (int c = 0; c < q; ++c) out[sz(k)] += (1.0 - res[sz(k * q + c)] / tot[sz(k * q + c)]) / q;
    }
    return out;
  };
  const std::vector<double> r2_a = r2(true), r2_o = r2(false);

  kern::probe_column_means(K, n, p, dx.get(), n_fit, n, xm_s.get(), s, nullptr);
  kern::probe_moments(K, n, p, q, dx.get(), dy.get(), n_fit, n, xm_s.get(), ym_s.get(), false,
                      gram.get(), s, nullptr);
  kern::probe_correlations(K, p, q, gram.get(), r.get(), nullptr);
  const std::vector<double> corr = r.download();

  for (int64_t k = 0; k < K; ++k) {
    const std::vector<double> fx(d.x.begin() + k * n * p, d.x.begin() + (k + 1) * n * p);
    const std::vector<double> fy(d.y.begin() + k * n * q, d.y.begin() + (k + 1) * n * q);
    const xent::ProbeResult want = xent::probe_linear(fx.data(), n, p, fy.data(), q, 0.5, 1.0);
    // The normal equations square the condition number of the features, here a few (random
    // Gaussian columns, n >> p; the uncentred ones of R2_o about 4 p, from the mean of 2), so
    // the two solutions of B agree to ~1e-13 relative and the R^2 to about as much. 1e-9 is
    // far inside the brief's 1e-6 yet clear of every rounding effect.
    EXPECT_NEAR(r2_a[sz(k)], want.r2_a, 1e-9) << "k=" << k;
    EXPECT_NEAR(r2_o[sz(k)], want.r2_o, 1e-9) << "k=" << k;
    std::vector<double> rk(corr.begin() + k * p * q, corr.begin() + (k + 1) * p * q);
    std::vector<bool> used(sz(p), false);
    // Same sums in another order: ~m eps of each r (see the pipeline test).
    EXPECT_NEAR(best_matching(rk, p, q, 0, used) / q, want.mcc, 1e-11) << "k=" << k;
  }
}

TEST(ProbeKernel, NormalEquationsReproduceProbeLinear) {
  XENT_REQUIRE_DEVICE();
  check_against_probe_linear(2, 2001, 20, 3, 60);
  check_against_probe_linear(1, 4999, 3, 3, 61);
  check_against_probe_linear(1, 7, 1, 1, 62);
}

// ---- determinism -----------------------------------------------------------------------------

struct Outputs {
  std::vector<double> means, gram, res, tot;
};

Outputs run_all(const Data& d, int64_t begin, int64_t end) {
  const int K = d.K, p = d.p, q = d.q, w = p + q;
  DeviceVector<float> dx(d.x), dy(d.y);
  DeviceVector<double> xm(sz(int64_t{K} * p)), ym(sz(int64_t{K} * q)), gram(sz(int64_t{K} * w * w)),
      map(d.a), res(ym.size()), tot(ym.size());
  DeviceVector<double> scratch(
      scratch_size(std::max({kern::probe_column_means_scratch(K, end - begin, p),
                             kern::probe_moments_scratch(K, end - begin, p, q, true),
                             kern::probe_residuals_scratch(K, end - begin, q)})));
  kern::probe_column_means(K, d.n, p, dx.get(), begin, end, xm.get(), scratch.get(), nullptr);
  kern::probe_column_means(K, d.n, q, dy.get(), begin, end, ym.get(), scratch.get(), nullptr);
  kern::probe_moments(K, d.n, p, q, dx.get(), dy.get(), begin, end, xm.get(), ym.get(), true,
                      gram.get(), scratch.get(), nullptr);
  kern::probe_residuals(K, d.n, p, q, dx.get(), dy.get(), begin, end, map.get(), xm.get(), ym.get(),
                        ym.get(), res.get(), tot.get(), scratch.get(), nullptr);
  return Outputs{xm.download(), gram.download(), res.download(), tot.download()};
}

void expect_same_bits(const Outputs& a, const Outputs& b) {
  // operator== on doubles; no NaN is expected, and one would fail the comparison loudly.
  EXPECT_EQ(a.means, b.means);
  EXPECT_EQ(a.gram, b.gram);
  EXPECT_EQ(a.res, b.res);
  EXPECT_EQ(a.tot, b.tot);
}

// The same bits on a second run (GPU) or, emulated, under three other scheduling orders and on
// one worker thread: a missing barrier or an order-dependent sum would show here.
TEST(ProbeKernel, ResultsAreDeterministic) {
  XENT_REQUIRE_DEVICE();
  // 6 tiles x 2 replicas: few enough chunks that each block stages two slices of rows, which
  // exercises the barrier guarding the staging buffers; q = 20 takes residual groups through
  // their shared sums five times.
  const Data d = make_data(2, 3001, 50, 20, 70);
  const Outputs first = run_all(d, 1, 3001);
#if defined(XENT_EMULATED)
  using xent::simt::Schedule;
  const int workers = xent::simt::worker_threads();
  for (const xent::simt::ScheduleSpec& spec : {xent::simt::ScheduleSpec{Schedule::kGreedy, 0},
                                               xent::simt::ScheduleSpec{Schedule::kReversed, 0},
                                               xent::simt::ScheduleSpec{Schedule::kRandom, 7}}) {
    SCOPED_TRACE(xent::simt::to_string(spec));
    xent::simt::ScopedSchedule order(spec);
    // The last order also runs every block on one worker, in block order.
    if (spec.kind == Schedule::kRandom) xent::simt::set_worker_threads(1);
    expect_same_bits(first, run_all(d, 1, 3001));
  }
  xent::simt::set_worker_threads(workers);
#else
  expect_same_bits(first, run_all(d, 1, 3001));
#endif
}

}  // namespace
