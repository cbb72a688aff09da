#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops.h"
#include "grad_check.h"

namespace xent {
namespace {

// Loss of float logits computed in double: the oracle for the finite differences.
double xent_loss(const std::vector<double>& logits, const std::vector<int32_t>& labels,
                 int64_t rows, int64_t classes) {
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < classes; ++j) mx = std::max(mx, logits[r * classes + j]);
    for (int64_t j = 0; j < classes; ++j) sum += std::exp(logits[r * classes + j] - mx);
    total += mx + std::log(sum) - logits[r * classes + labels[r]];
  }
  return total / static_cast<double>(rows);
}

TEST(SoftmaxXent, LossMatchesClosedFormOnUniformLogits) {
  // Equal logits: the loss is log(classes) exactly, and every row's arg-max is class 0.
  const int64_t rows = 3, classes = 7;
  std::vector<float> logits(rows * classes, 0.5f);
  std::vector<int32_t> labels = {0, 3, 6};
  float loss = 0, correct = 0;
  cpu::softmax_xent({1, rows, classes}, logits.data(), labels.data(), &loss, &correct, false);
  EXPECT_NEAR(loss, std::log(7.0), 1e-6);  // float rounding of log(7) ~ 2e-7
  EXPECT_EQ(correct, 1.0f);
}

TEST(SoftmaxXent, GradientMatchesFiniteDifferences) {
  const int64_t rows = 4, classes = 5;
  std::vector<double> x(rows * classes);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(1.7 * static_cast<double>(i)) * 3.0;
  std::vector<int32_t> labels = {1, 0, 4, 2};
  const auto num = test::numeric_grad(
      [&](const std::vector<double>& v) { return xent_loss(v, labels, rows, classes); }, x);
  std::vector<float> g = test::to_float(x);
  float loss = 0;
  cpu::softmax_xent({1, rows, classes}, g.data(), labels.data(), &loss, nullptr, true);
  EXPECT_NEAR(loss, xent_loss(x, labels, rows, classes), 1e-5);  // float logits, double sums
  // Central differences in double are accurate to ~1e-9 here; float softmax to ~1e-7.
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], num[i], 1e-6) << i;
}

TEST(SoftmaxXent, LargeLogitsStayFinite) {
  // Logits far beyond exp's float range: the max subtraction must keep everything finite.
  std::vector<float> logits = {1000.0f, -1000.0f, 999.0f, 0.0f};
  std::vector<int32_t> labels = {1, 0};
  float loss = 0;
  cpu::softmax_xent({1, 2, 2}, logits.data(), labels.data(), &loss, nullptr, true);
  EXPECT_TRUE(std::isfinite(loss));
  // Row 0 costs 2000 (label at -1000), row 1 log(1 + e^-999) = 0 in float: the mean is 1000.
  EXPECT_NEAR(loss, 1000.0, 1e-3);
  for (float v : logits) EXPECT_TRUE(std::isfinite(v));
}

TEST(SoftmaxXent, ReplicasAreIndependent) {
  // K = 2 must give each replica exactly what a K = 1 call on its slice gives.
  const int64_t rows = 3, classes = 4;
  std::vector<float> both(2 * rows * classes);
  for (size_t i = 0; i < both.size(); ++i)
    both[i] = static_cast<float>(std::cos(0.3 * static_cast<double>(i)) * 4);
  std::vector<int32_t> labels = {0, 1, 2, 3, 2, 1};
  std::vector<float> second(both.begin() + rows * classes, both.end());
  float loss2[2], loss1 = 0;
  cpu::softmax_xent({2, rows, classes}, both.data(), labels.data(), loss2, nullptr, true);
  cpu::softmax_xent({1, rows, classes}, second.data(), labels.data() + rows, &loss1, nullptr, true);
  EXPECT_EQ(loss2[1], loss1);
  for (int64_t i = 0; i < rows * classes; ++i) EXPECT_EQ(both[rows * classes + i], second[i]);
}

}  // namespace
}  // namespace xent
