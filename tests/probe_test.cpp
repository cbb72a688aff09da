// probe_linear: closed-form cases, maps with known singular values, the Hungarian matching
// against brute force, sampling bounds on independent noise, degenerate columns and bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "xent/error.h"
#include "xent/metrics.h"

namespace xent {
namespace {

// With exact data the least-squares residual is rounding, ~cond * eps ~ 1e-15 relative, so
// 1 - r2 = SS_res / SS_tot is ~1e-30; 1e-12 leaves room while any real misfit shows.
constexpr double kExact = 1e-12;

struct Matrix {
  int64_t rows = 0;
  int cols = 0;
  std::vector<double> v;
  Matrix(int64_t r, int c) : rows(r), cols(c), v(static_cast<size_t>(r) * c, 0.0) {}
  double& at(int64_t i, int j) { return v[static_cast<size_t>(i) * cols + j]; }
  double at(int64_t i, int j) const { return v[static_cast<size_t>(i) * cols + j]; }
};

Matrix gaussian(int64_t rows, int cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  Matrix m(rows, cols);
  for (double& x : m.v) x = normal(rng);
  return m;
}

Matrix matmul(const Matrix& a, const Matrix& b) {
  Matrix c(a.rows, b.cols);
  for (int64_t i = 0; i < a.rows; ++i) {
    for (int k = 0; k < a.cols; ++k) {
      for (int j = 0; j < b.cols; ++j) c.at(i, j) += a.at(i, k) * b.at(k, j);
    }
  }
  return c;
}

Matrix transpose(const Matrix& a) {
  Matrix t(a.cols, static_cast<int>(a.rows));
  for (int64_t i = 0; i < a.rows; ++i) {
    for (int j = 0; j < a.cols; ++j) t.at(j, static_cast<int>(i)) = a.at(i, j);
  }
  return t;
}

// A random orthogonal matrix by Gram-Schmidt on Gaussian columns.
Matrix random_orthogonal(int d, uint64_t seed) {
  Matrix q = gaussian(d, d, seed);
  for (int j = 0; j < d; ++j) {
    for (int k = 0; k < j; ++k) {
      double dot = 0;
      for (int i = 0; i < d; ++i) dot += q.at(i, j) * q.at(i, k);
      for (int i = 0; i < d; ++i) q.at(i, j) -= dot * q.at(i, k);
    }
    double norm = 0;
    for (int i = 0; i < d; ++i) norm += q.at(i, j) * q.at(i, j);
    for (int i = 0; i < d; ++i) q.at(i, j) /= std::sqrt(norm);
  }
  return q;
}

ProbeResult probe(const Matrix& x, const Matrix& y, double split = 0.5, double scale = 1.0) {
  EXPECT_EQ(x.rows, y.rows);
  return probe_linear(x.v.data(), x.rows, x.cols, y.v.data(), y.cols, split, scale);
}

double pearson(const Matrix& x, int j, const Matrix& y, int k) {
  double mx = 0, my = 0;
  for (int64_t i = 0; i < x.rows; ++i) {
    mx += x.at(i, j);
    my += y.at(i, k);
  }
  mx /= static_cast<double>(x.rows);
  my /= static_cast<double>(x.rows);
  double sxy = 0, sxx = 0, syy = 0;
  for (int64_t i = 0; i < x.rows; ++i) {
    sxy += (x.at(i, j) - mx) * (y.at(i, k) - my);
    sxx += (x.at(i, j) - mx) * (x.at(i, j) - mx);
    syy += (y.at(i, k) - my) * (y.at(i, k) - my);
  }
  return sxy / std::sqrt(sxx * syy);
}

// The best one-to-one matching by trying every injection of the smaller side into the larger.
double brute_force_mcc(const Matrix& x, const Matrix& y) {
  const int p = x.cols, q = y.cols;
  const int small = std::min(p, q), large = std::max(p, q);
  std::vector<int> perm(large);
  std::iota(perm.begin(), perm.end(), 0);
  double best = -1;
  do {
    double sum = 0;
    for (int s = 0; s < small; ++s) {
      sum += std::abs(p <= q ? pearson(x, s, y, perm[s]) : pearson(x, perm[s], y, s));
    }
    best = std::max(best, sum / small);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

TEST(Probe, HandComputedSimpleRegression) {
  // In-sample (split 1): with intercept r2 is the squared correlation; without, the slope is
  // sum(xy) / sum(x^2).
  Matrix x(4, 1), y(4, 1);
  const double xs[] = {0, 1, 2, 3}, ys[] = {1, 2, 3, 5};
  for (int i = 0; i < 4; ++i) {
    x.at(i, 0) = xs[i];
    y.at(i, 0) = ys[i];
  }
  const ProbeResult r = probe(x, y, 1.0, 1.0);
  // mean x 1.5, mean y 2.75, Sxy 6.5, Sxx 5, Syy 8.75.
  EXPECT_NEAR(r.r2_a, 6.5 * 6.5 / (5 * 8.75), 1e-14);
  EXPECT_NEAR(r.mcc, 6.5 / std::sqrt(5 * 8.75), 1e-14);
  const double b = 23.0 / 14.0;
  double ss_res = 0;
  for (int i = 0; i < 4; ++i) ss_res += (ys[i] - b * xs[i]) * (ys[i] - b * xs[i]);
  EXPECT_NEAR(r.r2_o, 1 - ss_res / 8.75, 1e-14);
  EXPECT_NEAR(r.mae_o, b - 1.0, 1e-14);
}

TEST(Probe, FitsTheFirstPartAndScoresTheRest) {
  // The fit rows say y = 2x exactly; the scoring rows follow y = 3x, so the score is that of
  // predicting 2x for them, with SS_tot about the scoring rows' own mean.
  const double xs[] = {1, 2, 3, 4, 1, 2, 4, 5};
  Matrix x(8, 1), y(8, 1);
  for (int i = 0; i < 8; ++i) {
    x.at(i, 0) = xs[i];
    y.at(i, 0) = (i < 4 ? 2 : 3) * xs[i];
  }
  double mean = 0;
  for (int i = 4; i < 8; ++i) mean += 3 * xs[i] / 4;
  double ss_res = 0, ss_tot = 0;
  for (int i = 4; i < 8; ++i) {
    ss_res += xs[i] * xs[i];
    ss_tot += (3 * xs[i] - mean) * (3 * xs[i] - mean);
  }
  ProbeResult r = probe(x, y, 0.5, 2.0);
  EXPECT_NEAR(r.r2_a, 1 - ss_res / ss_tot, 1e-12);
  EXPECT_NEAR(r.r2_o, 1 - ss_res / ss_tot, 1e-12);
  EXPECT_NEAR(r.mae_o, 0.0, 1e-12);  // the fitted slope is 2
  EXPECT_NEAR(r.mcc, 1.0, 1e-12);    // y is exactly proportional to x on the scoring rows

  // split 0.9 leaves one scoring row, fewer than p + 1 = 2: everything is in-sample.
  r = probe(x, y, 0.9, 2.0);
  const double rho = pearson(x, 0, y, 0);
  EXPECT_NEAR(r.r2_a, rho * rho, 1e-12);
  // split 1 means in-sample by definition.
  EXPECT_NEAR(probe(x, y, 1.0).r2_a, rho * rho, 1e-12);
}

TEST(Probe, ExactLinearMapsGiveR2One) {
  const Matrix x = gaussian(1000, 4, 1);
  const Matrix m = gaussian(4, 3, 2);
  Matrix y = matmul(x, m);
  ProbeResult r = probe(x, y);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_NEAR(r.r2_o, 1.0, kExact);

  // An offset is fitted by the intercept only.
  for (int64_t i = 0; i < y.rows; ++i) {
    for (int k = 0; k < y.cols; ++k) y.at(i, k) += 3.0 + k;
  }
  r = probe(x, y);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_LT(r.r2_o, 0.5);

  // Large means against a small spread: centring keeps the intercept fit exact.
  Matrix xs = x, ys = y;
  for (double& v : xs.v) v = 1e6 + 1e-2 * v;
  ys = matmul(xs, m);
  EXPECT_NEAR(probe(xs, ys).r2_a, 1.0, 1e-9);
}

TEST(Probe, ScaledOrthogonalMapGivesZeroMaeO) {
  const int d = 5;
  const Matrix q = random_orthogonal(d, 3);
  // Targets = features * (s Q): the fitted map is s Q, every singular value s.
  const Matrix x = gaussian(2000, d, 4);
  Matrix sq = q;
  for (double& v : sq.v) v *= 0.1;
  ProbeResult r = probe(x, matmul(x, sq), 0.5, 0.1);
  EXPECT_NEAR(r.mae_o, 0.0, 1e-10);
  EXPECT_NEAR(probe(x, matmul(x, sq), 0.5, 1.0).mae_o, 0.9, 1e-10);

  // The paper's direction: an encoder that learned f = kappa Q z. The probe maps features f back
  // to latents z, through (1/kappa) Q^T, so the scale to compare with is 1/kappa.
  const double kappa = 10;
  const Matrix z = gaussian(2000, d, 5);
  Matrix kq = transpose(q);
  for (double& v : kq.v) v *= kappa;
  const Matrix f = matmul(z, kq);
  r = probe(f, z, 0.5, 1 / kappa);
  EXPECT_NEAR(r.mae_o, 0.0, 1e-10);
  EXPECT_NEAR(r.r2_o, 1.0, kExact);
  EXPECT_NEAR(probe(f, z, 0.5, kappa).mae_o, kappa - 1 / kappa, 1e-9);
}

TEST(Probe, MaeOAveragesSingularValueErrors) {
  const Matrix x = gaussian(500, 3, 6);
  Matrix m(3, 3);
  m.at(0, 0) = 1;
  m.at(1, 1) = -2;  // a sign is not a singular value
  m.at(2, 2) = 3;
  // |1 - 2| + |2 - 2| + |3 - 2|, over 3.
  EXPECT_NEAR(probe(x, matmul(x, m), 0.5, 2.0).mae_o, 2.0 / 3.0, 1e-10);
}

TEST(Probe, RectangularMaps) {
  // p = 5 features, q = 3 targets: the map is 5 x 3 with singular values 1, 2, 3.
  const Matrix x5 = gaussian(1000, 5, 7);
  Matrix m53(5, 3);
  m53.at(0, 0) = 1;
  m53.at(1, 1) = 2;
  m53.at(2, 2) = 3;
  const Matrix q5 = random_orthogonal(5, 8);
  // Rotating the features keeps the singular values of the map from them.
  const Matrix x5r = matmul(x5, transpose(q5));
  ProbeResult r = probe(x5r, matmul(x5, m53), 0.5, 2.0);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_NEAR(r.mae_o, 2.0 / 3.0, 1e-10);

  // p = 2, q = 4: two singular values; the two zero targets are constant and predicted exactly.
  const Matrix x2 = gaussian(1000, 2, 9);
  Matrix m24(2, 4);
  m24.at(0, 0) = 1;
  m24.at(1, 1) = 2;
  r = probe(x2, matmul(x2, m24), 0.5, 1.5);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_NEAR(r.r2_o, 1.0, kExact);
  EXPECT_NEAR(r.mae_o, 0.5, 1e-10);
  EXPECT_NEAR(r.mcc, 1.0, 1e-12);  // two perfect pairs over min(p, q) = 2
}

TEST(Probe, IndependentNoiseScoresNearZero) {
  // n = 20000, half to score: a sample correlation of independent columns has sd
  // 1/sqrt(10000) = 0.01, so the best of 5 x 3 is ~0.03; out-of-sample r2 of pure noise is
  // about -p / n_fit = -5e-4 with sd ~1e-3. 0.05 is 5 sd from both.
  const Matrix x = gaussian(20000, 5, 10);
  const Matrix y = gaussian(20000, 3, 11);
  const ProbeResult r = probe(x, y);
  EXPECT_LT(std::abs(r.r2_a), 0.05);
  EXPECT_LT(std::abs(r.r2_o), 0.05);
  EXPECT_LT(r.mcc, 0.05);
  EXPECT_GE(r.mcc, 0.0);
}

TEST(Probe, PermutedSignFlippedCopyGivesMccOne) {
  const Matrix y = gaussian(3000, 5, 12);
  const int perm[] = {3, 0, 4, 1, 2};
  const double gain[] = {-2.0, 0.5, 1.0, -7.0, 3.0};
  // Two extra noise features make it rectangular (p = 7 > q = 5).
  Matrix x = gaussian(3000, 7, 13);
  for (int64_t i = 0; i < y.rows; ++i) {
    for (int j = 0; j < 5; ++j) x.at(i, j) = gain[j] * y.at(i, perm[j]) + 1.0;
  }
  ProbeResult r = probe(x, y);
  EXPECT_NEAR(r.mcc, 1.0, 1e-12);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  // And the other way round (p = 5 < q = 7).
  r = probe(y, x);
  EXPECT_NEAR(r.mcc, 1.0, 1e-12);
}

TEST(Probe, HungarianBeatsGreedyMatching) {
  // Correlations (features x targets) near [[0.7, 0.6], [0.6, 0.05]]: greedy takes 0.7 and then
  // 0.05 (mean 0.375); the best matching takes both 0.6 (mean 0.6). Unit-variance targets,
  // features mixed with noise to unit variance; sampling sd of each r is < 0.01 at n = 20000.
  const Matrix t = gaussian(20000, 2, 14);
  const Matrix e = gaussian(20000, 2, 15);
  Matrix f(20000, 2);
  for (int64_t i = 0; i < t.rows; ++i) {
    f.at(i, 0) = 0.7 * t.at(i, 0) + 0.6 * t.at(i, 1) + std::sqrt(1 - 0.85) * e.at(i, 0);
    f.at(i, 1) = 0.6 * t.at(i, 0) + 0.05 * t.at(i, 1) + std::sqrt(1 - 0.3625) * e.at(i, 1);
  }
  EXPECT_NEAR(probe(f, t).mcc, 0.6, 0.03);
}

TEST(Probe, MccMatchesBruteForce) {
  // Few rows give widely spread correlations, so the optimum is rarely the diagonal or greedy.
  for (uint64_t seed = 0; seed < 20; ++seed) {
    for (auto [p, q] : {std::pair{5, 5}, std::pair{3, 6}, std::pair{6, 3}, std::pair{1, 4}}) {
      const Matrix x = gaussian(9, p, 100 + seed);
      const Matrix y = gaussian(9, q, 200 + seed);
      EXPECT_NEAR(probe(x, y, 1.0).mcc, brute_force_mcc(x, y), 1e-12)
          << "seed " << seed << " p " << p << " q " << q;
    }
  }
}

TEST(Probe, MccUsesTheScoringRows) {
  // Features equal the targets on the fit rows only.
  const Matrix y = gaussian(4000, 3, 16);
  Matrix x = gaussian(4000, 3, 17);
  for (int64_t i = 0; i < 2000; ++i) {
    for (int j = 0; j < 3; ++j) x.at(i, j) = y.at(i, j);
  }
  const ProbeResult r = probe(x, y);
  EXPECT_LT(r.mcc, 0.1);
  EXPECT_LT(r.r2_a, 0.1);
  // In-sample, half the rows agree: r = 0.5 per pair.
  EXPECT_NEAR(probe(x, y, 1.0).mcc, 0.5, 0.05);
}

TEST(Probe, ConstantColumns) {
  const Matrix g = gaussian(2000, 2, 18);
  Matrix x(2000, 3), y(2000, 2);
  for (int64_t i = 0; i < g.rows; ++i) {
    x.at(i, 0) = g.at(i, 0);
    x.at(i, 1) = g.at(i, 1);
    x.at(i, 2) = 7.0;
    y.at(i, 0) = g.at(i, 0) + g.at(i, 1);
    y.at(i, 1) = 0.1;  // not a binary fraction: its mean is not exact
  }
  // A constant feature is collinear with the intercept; the fit must still be exact, and without
  // an intercept it stands in for one.
  ProbeResult r = probe(x, y);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_NEAR(r.r2_o, 1.0, kExact);
  // Constant columns correlate with nothing: the best pairs are (x0 or x1, y0) at 1/sqrt(2) and
  // a zero pair.
  EXPECT_NEAR(r.mcc, 0.5 / std::sqrt(2.0), 0.02);

  // Without the constant feature, the no-intercept fit cannot produce 0.1: that target scores 0
  // (a constant target counts 1 if predicted exactly, else 0), the other 1.
  Matrix x2(2000, 2);
  for (int64_t i = 0; i < g.rows; ++i) {
    x2.at(i, 0) = g.at(i, 0);
    x2.at(i, 1) = g.at(i, 1);
  }
  r = probe(x2, y);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_NEAR(r.r2_o, 0.5, kExact);

  // All features constant: the intercept fit predicts the fit mean, which in-sample is r2 0.
  Matrix xc(2000, 2);
  for (double& v : xc.v) v = -3.0;
  r = probe(xc, g, 1.0);
  EXPECT_NEAR(r.r2_a, 0.0, 1e-12);
  EXPECT_EQ(r.mcc, 0.0);
  EXPECT_TRUE(std::isfinite(r.r2_o));
  EXPECT_TRUE(std::isfinite(r.mae_o));
}

TEST(Probe, DuplicatedFeatureColumns) {
  // Rank-deficient features (a duplicated column) still give an exact fit.
  const Matrix g = gaussian(500, 2, 19);
  Matrix x(500, 3), y(500, 1);
  for (int64_t i = 0; i < g.rows; ++i) {
    x.at(i, 0) = g.at(i, 0);
    x.at(i, 1) = g.at(i, 1);
    x.at(i, 2) = g.at(i, 0);
    y.at(i, 0) = 2 * g.at(i, 0) - g.at(i, 1);
  }
  const ProbeResult r = probe(x, y);
  EXPECT_NEAR(r.r2_a, 1.0, kExact);
  EXPECT_NEAR(r.r2_o, 1.0, kExact);
  // Minimum-norm solution: the weight 2 splits 1 + 1, the map is (1, -1, 1)^T with singular
  // value sqrt(3).
  EXPECT_NEAR(probe(x, y, 0.5, 0.0).mae_o, std::sqrt(3.0), 1e-10);
}

// Asserts that probe_linear throws InputError with a one-line message containing `fragment`.
template <typename F>
void expect_input_error(F&& f, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error (expected '" << fragment << "')";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(Probe, RejectsBadInput) {
  Matrix x = gaussian(10, 2, 20), y = gaussian(10, 2, 21);
  const double* xv = x.v.data();
  const double* yv = y.v.data();
  expect_input_error([&] { probe_linear(xv, 1, 2, yv, 2, 0.5, 1.0); }, "at least 2 rows, got 1");
  expect_input_error([&] { probe_linear(xv, 0, 2, yv, 2, 0.5, 1.0); }, "at least 2 rows, got 0");
  expect_input_error([&] { probe_linear(xv, 10, 0, yv, 2, 0.5, 1.0); }, "features have no columns");
  expect_input_error([&] { probe_linear(xv, 10, 2, yv, 0, 0.5, 1.0); }, "targets have no columns");
  expect_input_error([&] { probe_linear(xv, 10, 2, yv, 2, 0.0, 1.0); }, "split");
  expect_input_error([&] { probe_linear(xv, 10, 2, yv, 2, -0.5, 1.0); }, "split");
  expect_input_error([&] { probe_linear(xv, 10, 2, yv, 2, std::nan(""), 1.0); }, "split");
  expect_input_error([&] { probe_linear(xv, 10, 2, yv, 2, 0.5, std::nan("")); }, "scale");
  expect_input_error([&] { probe_linear(xv, 10, 2, yv, 2, 0.5, -1.0); }, "scale");
  x.at(3, 1) = std::numeric_limits<double>::quiet_NaN();
  expect_input_error([&] { probe(x, y); },
                     "features has a non-finite value (nan) at row 3, column 1");
  x.at(3, 1) = 0;
  y.at(9, 0) = -std::numeric_limits<double>::infinity();
  expect_input_error([&] { probe(x, y); },
                     "targets has a non-finite value (-inf) at row 9, column 0");
}

}  // namespace
}  // namespace xent

namespace xent {
namespace {

// The probe from sums (what the CUDA backend computes on the device) against probe_linear, with
// the sums taken here in double: only the solves differ (normal equations with an eigen
// pseudo-inverse against dgelsd). On data with condition number ~10 both are accurate to
// ~1e-13, so R2 and mae_o agree to 1e-9.
TEST(Probe, FromSumsAgreesWithProbeLinear) {
  std::mt19937 gen(3);
  std::normal_distribution<double> normal;
  const int64_t n = 600;
  const int p = 6, q = 4, w = p + q;
  std::vector<double> x(n * p), y(n * q), a(p * q);
  for (double& v : a) v = normal(gen);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < p; ++j) x[i * p + j] = 2.0 + normal(gen);
    for (int k = 0; k < q; ++k) {
      double s = 0.5 * k + 0.3 * normal(gen);
      for (int j = 0; j < p; ++j) s += x[i * p + j] * a[j * q + k];
      y[i * q + k] = s;
    }
  }
  const ProbeResult want = probe_linear(x.data(), n, p, y.data(), q, 0.5, 1.0);
  const ProbeRows rows = probe_rows(n, p, q, 0.5, 1.0);
  ASSERT_EQ(rows.fit_end, 300);
  ASSERT_EQ(rows.score_begin, 300);

  auto means = [&](const std::vector<double>& m, int cols, int64_t b, int64_t e) {
    std::vector<double> mean(cols, 0.0);
    for (int64_t i = b; i < e; ++i)
      for (int j = 0; j < cols; ++j) mean[j] += m[i * cols + j] / static_cast<double>(e - b);
    return mean;
  };
  const std::vector<double> xm = means(x, p, 0, rows.fit_end), ym = means(y, q, 0, rows.fit_end),
                            sym = means(y, q, rows.score_begin, n);
  for (const bool centred : {true, false}) {
    std::vector<double> gram(w * w, 0.0), z(w);
    for (int64_t i = 0; i < rows.fit_end; ++i) {
      for (int j = 0; j < p; ++j) z[j] = x[i * p + j] - (centred ? xm[j] : 0.0);
      for (int k = 0; k < q; ++k) z[p + k] = y[i * q + k] - (centred ? ym[k] : 0.0);
      for (int r = 0; r < w; ++r)
        for (int c = 0; c < w; ++c) gram[r * w + c] += z[r] * z[c];
    }
    const std::vector<double> map = least_squares_from_gram(gram.data(), p, q);
    std::vector<double> ss_res(q, 0.0), ss_tot(q, 0.0);
    for (int64_t i = rows.score_begin; i < n; ++i) {
      for (int k = 0; k < q; ++k) {
        double pred = centred ? ym[k] : 0.0;
        for (int j = 0; j < p; ++j)
          pred += (x[i * p + j] - (centred ? xm[j] : 0.0)) * map[j * q + k];
        ss_res[k] += (y[i * q + k] - pred) * (y[i * q + k] - pred);
        ss_tot[k] += (y[i * q + k] - sym[k]) * (y[i * q + k] - sym[k]);
      }
    }
    const double r2 =
        r2_from_sums(ss_res.data(), ss_tot.data(), sym.data(), q, n - rows.score_begin);
    if (centred) {
      EXPECT_NEAR(r2, want.r2_a, 1e-9);
    } else {
      EXPECT_NEAR(r2, want.r2_o, 1e-9);
      EXPECT_NEAR(singular_value_error(map, p, q, 1.0), want.mae_o, 1e-9);
    }
  }
  // The intercept matters here (x has mean 2, y an offset): without it R2 is clearly lower.
  EXPECT_GT(want.r2_a, want.r2_o + 0.01);
}

// A duplicated feature column makes X^T X singular: the pseudo-inverse still fits, as dgelsd
// does, instead of dividing by a zero eigenvalue.
TEST(Probe, FromSumsHandlesRankDeficientFeatures) {
  const int p = 3, q = 1, w = p + q;
  std::vector<double> gram(w * w, 0.0);
  std::mt19937 gen(5);
  std::normal_distribution<double> normal;
  for (int i = 0; i < 200; ++i) {
    const double a = normal(gen), b = normal(gen);
    const double z[w] = {a, a, b, 3.0 * a - b};
    for (int r = 0; r < w; ++r)
      for (int c = 0; c < w; ++c) gram[r * w + c] += z[r] * z[c];
  }
  const std::vector<double> map = least_squares_from_gram(gram.data(), p, q);
  // Minimum norm: the weight of a splits evenly over the two copies.
  EXPECT_NEAR(map[0], 1.5, 1e-9);
  EXPECT_NEAR(map[1], 1.5, 1e-9);
  EXPECT_NEAR(map[2], -1.0, 1e-9);
}

}  // namespace
}  // namespace xent
