#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops.h"
#include "grad_check.h"

namespace xent {
namespace {

TEST(Normalize, RowsBecomeUnitAndGradientMatchesFiniteDifferences) {
  const int rows = 3, w = 4;
  std::vector<double> x(rows * w), c(rows * w);
  for (int i = 0; i < rows * w; ++i) {
    x[i] = std::sin(0.9 * i + 0.4) * 2;
    c[i] = std::cos(1.3 * i);
  }
  auto loss = [&](const std::vector<double>& v) {
    double s = 0;
    for (int r = 0; r < rows; ++r) {
      double n = 0;
      for (int j = 0; j < w; ++j) n += v[r * w + j] * v[r * w + j];
      for (int j = 0; j < w; ++j) s += v[r * w + j] / std::sqrt(n) * c[r * w + j];
    }
    return s;
  };
  const auto num = test::numeric_grad(loss, x);
  auto xf = test::to_float(x), cf = test::to_float(c);
  std::vector<float> y(x.size()), norms(rows), dx(x.size());
  cpu::normalize_rows_forward(rows, w, xf.data(), y.data(), norms.data());
  for (int r = 0; r < rows; ++r) {
    double n = 0;
    for (int j = 0; j < w; ++j) n += static_cast<double>(y[r * w + j]) * y[r * w + j];
    EXPECT_NEAR(n, 1.0, 1e-6);  // float rounding of w terms
  }
  cpu::normalize_rows_backward(rows, w, y.data(), norms.data(), cf.data(), dx.data());
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx[i], num[i], 1e-5) << i;
}

TEST(Normalize, ZeroRowStaysFinite) {
  std::vector<float> x(4, 0.0f), y(4), n(1);
  cpu::normalize_rows_forward(1, 4, x.data(), y.data(), n.data());
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace xent
