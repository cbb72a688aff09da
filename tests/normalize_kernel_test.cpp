// kernels/normalize.cu against xent::cpu::normalize_rows_forward / _backward.
//
// Tolerances (the same under the emulator and on a GPU). Both sides sum a row in double, the
// kernel in another order (lanes, then a butterfly). The terms are products of two floats,
// exact in double, so the two sums differ by at most width * DBL_EPSILON times the sum of
// |terms|: about 1e-13 relative, far below a float's resolution. A float result computed from
// such a double is then the CPU's or its neighbour (1 ulp <= FLT_EPSILON * |value|); y = x / norm
// inherits one ulp of the norm and adds one rounding of its own, so 2 FLT_EPSILON * |y|.
#include "kernel_harness.h"
//
#include <cfloat>
#include <cmath>
#include <random>
#include <string>

#include "cpu/ops.h"
#include "kernels/normalize.h"

namespace {

using xent::test::DeviceVector;

// Rows of very different lengths; row 0 (when there are at least 3 rows) is all zeros, which
// stays zero with the 1e-12 floor as the norm.
std::vector<float> make_rows(int64_t rows, int width, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  std::vector<float> x(static_cast<size_t>(rows) * width);
  for (int64_t r = 0; r < rows; ++r) {
    const float scale = std::exp(uniform(gen));
    for (int c = 0; c < width; ++c)
      x[static_cast<size_t>(r) * width + c] = rows >= 3 && r == 0 ? 0.0f : scale * normal(gen);
  }
  return x;
}

void expect_within(const std::vector<float>& got, const std::vector<float>& want,
                   const std::vector<double>& tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), tol[i])
        << what << " i=" << i << " got " << got[i] << " want " << want[i];
}

// `rows` counts every replica's rows: the op sees [K * rows][width] as one matrix.
void check_normalize(int64_t rows, int width, uint32_t seed) {
  SCOPED_TRACE("rows=" + std::to_string(rows) + " width=" + std::to_string(width));
  const std::vector<float> x = make_rows(rows, width, seed);
  const std::vector<float> dy = make_rows(rows, width, seed + 1000);
  std::vector<float> y(x.size()), norms(static_cast<size_t>(rows));
  xent::cpu::normalize_rows_forward(rows, width, x.data(), y.data(), norms.data());

  DeviceVector<float> d_x(x), d_y(x.size()), d_norms(norms.size());
  xent::kernels::normalize_rows_forward(rows, width, d_x.get(), d_y.get(), d_norms.get(), nullptr);
  const std::vector<float> got_y = d_y.download(), got_norms = d_norms.download();
  std::vector<double> tol_norms(norms.size()), tol_y(y.size());
  for (size_t r = 0; r < norms.size(); ++r) tol_norms[r] = FLT_EPSILON * norms[r];
  for (size_t i = 0; i < y.size(); ++i) tol_y[i] = 2 * FLT_EPSILON * std::fabs(y[i]);
  expect_within(got_norms, norms, tol_norms, "norms");
  expect_within(got_y, y, tol_y, "y");
  if (rows >= 3) {
    for (int c = 0; c < width; ++c) EXPECT_EQ(got_y[static_cast<size_t>(c)], 0.0f) << "zero row";
  }

  // In place (y aliases x), and without norms: the same y.
  DeviceVector<float> d_xy(x);
  xent::kernels::normalize_rows_forward(rows, width, d_xy.get(), d_xy.get(), nullptr, nullptr);
  EXPECT_EQ(d_xy.download(), got_y);

  // Backward from the CPU's y and norms. dx = (dy - dot y) / norm: the dot differs by at most
  // width * DBL_EPSILON * sum |y dy|, which reaches dx times |y| / norm; then one float rounding
  // of dx (1 ulp).
  std::vector<float> dx(x.size());
  xent::cpu::normalize_rows_backward(rows, width, y.data(), norms.data(), dy.data(), dx.data());
  DeviceVector<float> d_y_in(y), d_norms_in(norms), d_dy(dy), d_dx(x.size());
  xent::kernels::normalize_rows_backward(rows, width, d_y_in.get(), d_norms_in.get(), d_dy.get(),
                                         d_dx.get(), nullptr);
  std::vector<double> tol_dx(dx.size());
  for (int64_t r = 0; r < rows; ++r) {
    const size_t o = static_cast<size_t>(r) * width;
    double abs_dot = 0.0;
    for (int c = 0; c < width; ++c) abs_dot += std::fabs(static_cast<double>(y[o + c]) * dy[o + c]);
    for (int c = 0; c < width; ++c)
      tol_dx[o + c] = FLT_EPSILON * std::fabs(dx[o + c]) +
                      2 * width * DBL_EPSILON * abs_dot * std::fabs(y[o + c]) / norms[r] +
                      FLT_TRUE_MIN;
  }
  expect_within(d_dx.download(), dx, tol_dx, "dx");
}

TEST(NormalizeKernel, MatchesCpuOnRaggedShapes) {
  XENT_REQUIRE_DEVICE();
  uint32_t seed = 1;
  // Widths 1 and 3 pack 32 and 8 rows to a warp, 33 and 70 take a whole warp each; rows end
  // inside a warp and inside a block. K = 3 replicas of 37 rows are 111 rows to the op.
  for (int64_t rows : {1, 2, 37, 111, 300})
    for (int width : {1, 3, 5, 20, 33, 70}) check_normalize(rows, width, seed++);
}

TEST(NormalizeKernel, MatchesCpuOnWideRows) {
  XENT_REQUIRE_DEVICE();
  check_normalize(7, 2000, 99);
  check_normalize(3, 4097, 98);
}

TEST(NormalizeKernel, MatchesCpuWhenRowsOutnumberTheGrid) {
  XENT_REQUIRE_DEVICE();
  // The grid stops at 132 * 8 blocks of 8 whole-warp rows: 8448 rows, then each warp loops.
  check_normalize(8500, 40, 77);
}

#if defined(XENT_EMULATED)
// Lanes racing ahead of each other must not change the shuffled sums.
TEST(NormalizeKernel, ResultsDoNotDependOnTheSchedule) {
  XENT_REQUIRE_DEVICE();
  using xent::simt::Schedule;
  const int64_t rows = 75;
  const int width = 12;
  const std::vector<float> x = make_rows(rows, width, 5);
  DeviceVector<float> d_x(x), d_y(x.size()), d_norms(static_cast<size_t>(rows));
  xent::kernels::normalize_rows_forward(rows, width, d_x.get(), d_y.get(), d_norms.get(), nullptr);
  const std::vector<float> y = d_y.download(), norms = d_norms.download();
  const std::vector<float> dy = make_rows(rows, width, 6);
  DeviceVector<float> d_dy(dy), d_dx(x.size());
  xent::kernels::normalize_rows_backward(rows, width, d_y.get(), d_norms.get(), d_dy.get(),
                                         d_dx.get(), nullptr);
  const std::vector<float> dx = d_dx.download();
  for (const xent::simt::ScheduleSpec spec : {xent::simt::ScheduleSpec{Schedule::kGreedy, 0},
                                              {Schedule::kReversed, 0},
                                              {Schedule::kRandom, 3}}) {
    SCOPED_TRACE(xent::simt::to_string(spec));
    xent::simt::ScopedSchedule order(spec);
    DeviceVector<float> d_y2(x.size()), d_norms2(norms.size()), d_dx2(x.size());
    xent::kernels::normalize_rows_forward(rows, width, d_x.get(), d_y2.get(), d_norms2.get(),
                                          nullptr);
    xent::kernels::normalize_rows_backward(rows, width, d_y.get(), d_norms.get(), d_dy.get(),
                                           d_dx2.get(), nullptr);
    EXPECT_EQ(d_y2.download(), y);
    EXPECT_EQ(d_norms2.download(), norms);
    EXPECT_EQ(d_dx2.download(), dx);
  }
}
#endif

}  // namespace
