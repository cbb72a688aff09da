#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops.h"
#include "grad_check.h"

namespace xent {
namespace {

std::vector<double> wave(size_t n, double f, double a = 1.0) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = a * std::sin(f * static_cast<double>(i) + 0.3);
  return v;
}

TEST(Linear, ForwardMatchesHandComputedCase) {
  // y = x W^T + b with x = [1 2], W = [[1 0], [2 -1], [0 3]], b = [0.5, 0, -1].
  std::vector<float> x = {1, 2}, w = {1, 0, 2, -1, 0, 3}, b = {0.5f, 0, -1}, y(3);
  cpu::linear_forward({1, 1, 2, 3}, x.data(), w.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1.5f, 0.0f, 5.0f}));  // small integers: exact in float
}

TEST(Linear, BackwardMatchesFiniteDifferences) {
  // Loss = sum(y * c) for a fixed c, so dL/dy = c.
  const int rows = 5, in = 3, out = 4;
  const auto x = wave(rows * in, 0.7), w = wave(out * in, 1.3), b = wave(out, 2.1),
             c = wave(rows * out, 0.9);
  auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv,
                  const std::vector<double>& bv) {
    double s = 0;
    for (int r = 0; r < rows; ++r)
      for (int o = 0; o < out; ++o) {
        double y = bv[o];
        for (int i = 0; i < in; ++i) y += xv[r * in + i] * wv[o * in + i];
        s += y * c[r * out + o];
      }
    return s;
  };
  const auto nx = test::numeric_grad([&](const auto& v) { return loss(v, w, b); }, x);
  const auto nw = test::numeric_grad([&](const auto& v) { return loss(x, v, b); }, w);
  const auto nb = test::numeric_grad([&](const auto& v) { return loss(x, w, v); }, b);
  auto xf = test::to_float(x), wf = test::to_float(w), cf = test::to_float(c);
  std::vector<float> dx(x.size()), dw(w.size()), db(b.size());
  cpu::linear_backward({1, rows, in, out}, xf.data(), wf.data(), cf.data(), dx.data(), dw.data(),
                       db.data());
  // The loss is linear, so central differences are exact up to double rounding; the float
  // op carries ~1e-7 relative error on O(1) sums.
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], nx[i], 1e-5) << i;
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw[i], nw[i], 1e-5) << i;
  for (size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(db[i], nb[i], 1e-5) << i;
}

TEST(Linear, LongReductionMatchesDoubleSums) {
  // From 16,384 rows dW is computed in blocks of input columns (host/cpu/linear.cpp); 600
  // columns are two full blocks and a short one.
  const size_t rows = 20000, in = 600, out = 3;
  const auto x = test::to_float(wave(rows * in, 0.013)),
             dy = test::to_float(wave(rows * out, 0.71));
  const std::vector<float> w(out * in, 0.0f);
  std::vector<float> dw(w.size()), db(out);
  cpu::linear_backward({1, static_cast<int64_t>(rows), static_cast<int>(in), static_cast<int>(out)},
                       x.data(), w.data(), dy.data(), nullptr, dw.data(), db.data());
  for (size_t o = 0; o < out; ++o)
    for (size_t i = 0; i < in; i += 7) {
      double sum = 0.0, abs_sum = 0.0;
      for (size_t r = 0; r < rows; ++r) {
        const double t = double{x[r * in + i]} * dy[r * out + o];
        sum += t;
        abs_sum += std::fabs(t);
      }
      // A float sum of n terms errs by at most about n eps sum |terms| (recursive summation's
      // bound; a GEMM's blocked sums do better): 20,000 x 2^-24 = 1.2e-3.
      EXPECT_NEAR(dw[o * in + i], sum, 1.2e-3 * abs_sum) << o << ", " << i;
    }
}

TEST(Linear, PopulationEqualsSeparateCalls) {
  const int K = 3, rows = 7, in = 5, out = 6;
  auto x = test::to_float(wave(K * rows * in, 0.37)), w = test::to_float(wave(K * out * in, 1.1)),
       b = test::to_float(wave(K * out, 0.5));
  std::vector<float> y(K * rows * out);
  cpu::linear_forward({K, rows, in, out}, x.data(), w.data(), b.data(), y.data());
  for (int k = 0; k < K; ++k) {
    std::vector<float> yk(rows * out);
    cpu::linear_forward({1, rows, in, out}, x.data() + k * rows * in, w.data() + k * out * in,
                        b.data() + k * out, yk.data());
    for (int i = 0; i < rows * out; ++i) EXPECT_EQ(y[k * rows * out + i], yk[i]);
  }
}

}  // namespace
}  // namespace xent
