// The multinomial_loss op's CPU twin: value and gradient against the formula in double and
// against central finite differences of that formula, its order of sums (any thread count
// gives the same bits), and logits far from zero (no overflow).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/ops.h"
#include "cpu/thread_pool.h"

namespace xent {
namespace {

struct Data {
  MultinomialShape s;
  std::vector<float> z, labels, weights;  // [rows][F][C], [rows][F], [rows][F]
};

Data make(int64_t rows, int F, int C, uint32_t seed, float spread) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  Data d{{rows, F, C}, {}, {}, {}};
  d.z.resize(static_cast<size_t>(rows) * F * C);
  for (float& v : d.z) v = normal(gen);
  d.labels.resize(static_cast<size_t>(rows) * F);
  d.weights.resize(d.labels.size());
  for (size_t i = 0; i < d.labels.size(); ++i) {
    d.labels[i] = static_cast<float>(gen() % static_cast<uint32_t>(C));
    d.weights[i] = static_cast<float>(gen() % 3) * 0.5f;  // 0, 0.5 or 1
  }
  return d;
}

// One row's w (logsumexp(z) - z_y) in double.
double row_loss(const double* z, int C, int y, double w) {
  double m = z[0];
  for (int c = 1; c < C; ++c) m = std::max(m, z[c]);
  double s = 0.0;
  for (int c = 0; c < C; ++c) s += std::exp(z[c] - m);
  return w * (m + std::log(s) - z[y]);
}

TEST(MultinomialLoss, ValueAndGradientMatchTheFormulaInDouble) {
  const Data d = make(300, 7, 5, 1, 3.0f);
  std::vector<float> g = d.z;
  std::vector<double> loss(7);
  cpu::multinomial_loss(d.s, g.data(), d.labels.data(), d.weights.data(), loss.data());
  const int C = d.s.classes;
  std::vector<double> want(7, 0.0), bound(7, 0.0);
  for (int64_t r = 0; r < d.s.rows; ++r)
    for (int f = 0; f < d.s.fits; ++f) {
      const size_t i = static_cast<size_t>(r) * d.s.fits + f;
      std::vector<double> z(d.z.begin() + static_cast<ptrdiff_t>(i * C),
                            d.z.begin() + static_cast<ptrdiff_t>((i + 1) * C));
      const int y = static_cast<int>(d.labels[i]);
      const double w = d.weights[i];
      want[f] += row_loss(z.data(), C, y, w);
      double m = z[0], s = 0.0, amax = 0.0;
      for (const double v : z) m = std::max(m, v);
      for (const double v : z) s += std::exp(v - m);
      for (const double v : z) amax = std::max(amax, std::fabs(v));
      bound[f] += 8 * 6e-8 * w * (amax + std::log(s) + 1.0);
      for (int c = 0; c < C; ++c) {
        const double p = std::exp(z[c] - m) / s;
        EXPECT_NEAR(g[i * C + c], w * (p - (c == y ? 1.0 : 0.0)), 8 * 6e-8 * w) << i << " " << c;
      }
      // Central differences of the double formula agree with the closed form it checks.
      for (int c = 0; c < C; ++c) {
        const double h = 1e-5;
        std::vector<double> zp = z, zm = z;
        zp[c] += h;
        zm[c] -= h;
        const double fd = (row_loss(zp.data(), C, y, w) - row_loss(zm.data(), C, y, w)) / (2 * h);
        EXPECT_NEAR(g[i * C + c], fd, 2e-6) << i << " " << c;
      }
    }
  for (int f = 0; f < d.s.fits; ++f) EXPECT_NEAR(loss[f], want[f], bound[f]) << f;
}

TEST(MultinomialLoss, AnyThreadCountGivesTheSameBits) {
  const Data d = make(2100, 5, 3, 2, 4.0f);
  std::vector<float> g1 = d.z, g4 = d.z;
  std::vector<double> l1(5), l4(5);
  cpu::multinomial_loss(d.s, g1.data(), d.labels.data(), d.weights.data(), l1.data());
  cpu::ThreadPool pool(4);
  cpu::multinomial_loss(d.s, g4.data(), d.labels.data(), d.weights.data(), l4.data(), pool);
  for (size_t i = 0; i < g1.size(); ++i) ASSERT_EQ(g1[i], g4[i]) << i;
  for (int f = 0; f < 5; ++f) EXPECT_EQ(l1[f], l4[f]) << f;
}

TEST(MultinomialLoss, LargeLogitsStayFinite) {
  MultinomialShape s{2, 1, 3};
  std::vector<float> z{1000.0f, -1000.0f, 999.0f, -500.0f, -400.0f, -600.0f};
  const std::vector<float> labels{2.0f, 0.0f}, weights{1.0f, 2.0f};
  std::vector<double> loss(1);
  cpu::multinomial_loss(s, z.data(), labels.data(), weights.data(), loss.data());
  const double first = 1.0 + std::log1p(std::exp(-1.0) + std::exp(-2000.0));
  const double second = 2.0 * (100.0 + std::log1p(std::exp(-100.0) + std::exp(-200.0)));
  EXPECT_NEAR(loss[0], first + second, 1e-4);
  for (const float v : z) EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(z[2], 1.0 / (1.0 + std::exp(1.0)) - 1.0, 1e-6);
  EXPECT_NEAR(z[3], -2.0, 1e-6);
  // Weight 0 leaves the row out of value and gradient.
  std::vector<float> z0{3.0f, 1.0f, 2.0f};
  const std::vector<float> l0{1.0f}, w0{0.0f};
  MultinomialShape s0{1, 1, 3};
  cpu::multinomial_loss(s0, z0.data(), l0.data(), w0.data(), loss.data());
  EXPECT_EQ(loss[0], 0.0);
  for (const float v : z0) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace xent
