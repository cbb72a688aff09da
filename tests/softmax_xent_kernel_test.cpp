// kernels/softmax_xent.cu against xent::cpu::softmax_xent.
#include "kernel_harness.h"
//
#include <cmath>
#include <limits>
#include <random>

#include "cpu/ops.h"
#include "kernels/softmax_xent.h"

namespace {

using xent::test::DeviceVector;

constexpr double kEps = std::numeric_limits<float>::epsilon();

struct Case {
  int K;
  int64_t rows, classes;
  float spread;  // logits ~ N(0, spread^2)
};

struct Outputs {
  std::vector<float> grad, per_row;
  std::vector<float> loss, correct;
};

Outputs run_kernel(const Case& c, const std::vector<float>& logits,
                   const std::vector<int32_t>& labels, bool grad, bool with_correct = true) {
  DeviceVector<float> d_logits(logits), d_per_row(3 * static_cast<size_t>(c.K * c.rows)),
      d_loss(static_cast<size_t>(c.K)), d_correct(static_cast<size_t>(c.K));
  DeviceVector<int32_t> d_labels(labels);
  xent::kernels::softmax_xent({c.K, c.rows, c.classes}, d_logits.get(), d_labels.get(),
                              d_per_row.get(), d_loss.get(),
                              with_correct ? d_correct.get() : nullptr, grad, nullptr);
  return {d_logits.download(), d_per_row.download(), d_loss.download(), d_correct.download()};
}

void make_inputs(const Case& c, uint32_t seed, std::vector<float>* logits,
                 std::vector<int32_t>* labels) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, c.spread);
  std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(c.classes - 1));
  logits->resize(static_cast<size_t>(c.K * c.rows * c.classes));
  for (float& x : *logits) x = normal(gen);
  labels->resize(static_cast<size_t>(c.K * c.rows));
  for (int32_t& y : *labels) y = label(gen);
}

void check_case(const Case& c, uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << "K=" << c.K << " rows=" << c.rows << " classes=" << c.classes
                                    << " on the " << xent::test::kernel_target());
  std::vector<float> logits;
  std::vector<int32_t> labels;
  make_inputs(c, seed, &logits, &labels);
  std::vector<float> want_grad = logits, want_loss(static_cast<size_t>(c.K)),
                     want_correct(static_cast<size_t>(c.K));
  xent::cpu::softmax_xent({c.K, c.rows, c.classes}, want_grad.data(), labels.data(),
                          want_loss.data(), want_correct.data(), true);
  const Outputs got = run_kernel(c, logits, labels, true);

  const int64_t total = c.K * c.rows;
  double mean_abs_lse = 0.0;
  for (int64_t r = 0; r < total; ++r) {
    const float* x = logits.data() + r * c.classes;
    double mx = x[0], sum = 0.0;
    for (int64_t j = 1; j < c.classes; ++j) mx = std::max(mx, static_cast<double>(x[j]));
    for (int64_t j = 0; j < c.classes; ++j) sum += std::exp(x[j] - mx);
    const double lse = mx + std::log(sum);
    mean_abs_lse += std::fabs(lse) / static_cast<double>(c.rows);
    // The kernel sums exp in float over a thread's share, then merges shares: relative error
    // of the sum ~ (elements per thread + merge depth) * eps; 64 eps of |lse| + 1 covers
    // 100,000 classes over 256 threads with room.
    ASSERT_NEAR(got.per_row[r], lse, 64 * kEps * (std::fabs(lse) + 1.0)) << "row " << r;
    for (int64_t j = 0; j < c.classes; ++j) {
      const size_t i = static_cast<size_t>(r * c.classes + j);
      const double onehot = j == labels[r] ? 1.0 : 0.0;
      const double p = std::exp(x[j] - lse);
      // g = (exp(x - lse) - onehot) / rows: exp's argument carries the lse error above (and a
      // float exp's own ulps), so p is off by that much relatively; then one float rounding.
      const double tol = (64 * kEps * (std::fabs(lse) + 1.0) * p + 4 * kEps * (p + onehot)) /
                             static_cast<double>(c.rows) +
                         1e-30;
      ASSERT_NEAR(got.grad[i], want_grad[i], tol) << "row " << r << " class " << j;
    }
  }
  for (int k = 0; k < c.K; ++k) {
    // The mean of per-row losses that each carry the lse error above.
    EXPECT_NEAR(got.loss[k], want_loss[k], 64 * kEps * (mean_abs_lse / c.K + 1.0)) << "k=" << k;
    // Random normal logits have no ties, so the arg-max agrees exactly.
    EXPECT_EQ(got.correct[k], want_correct[k]) << "k=" << k;
  }
}

TEST(SoftmaxXentKernel, WarpPerRowMatchesCpuAtRaggedShapes) {
  XENT_REQUIRE_DEVICE();
  // Classes of 2 and 3 leave most lanes idle; 10 and 1000 are the supervised and DIET bases;
  // 1001 makes every other row start off 16 bytes (the scalar path); rows not a multiple of
  // the 8 rows a block holds.
  for (const Case& c : {Case{1, 1, 2, 1.0f}, Case{1, 7, 3, 2.0f}, Case{2, 33, 10, 3.0f},
                        Case{3, 9, 1000, 4.0f}, Case{2, 5, 1001, 4.0f}, Case{1, 3, 4096, 1.0f}})
    check_case(c, 7);
}

TEST(SoftmaxXentKernel, BlockPerRowMatchesCpuUpToAHundredThousandClasses) {
  XENT_REQUIRE_DEVICE();
  for (const Case& c : {Case{2, 3, 4097, 2.0f}, Case{1, 2, 10003, 8.0f}, Case{1, 2, 100000, 3.0f}})
    check_case(c, 11);
}

TEST(SoftmaxXentKernel, LargeLogitsDoNotOverflow) {
  XENT_REQUIRE_DEVICE();
  // exp(100) overflows nothing in float, exp(1000) would: the online max keeps every exp <= 1.
  check_case(Case{1, 4, 300, 500.0f}, 3);
  check_case(Case{1, 2, 5000, 500.0f}, 4);
}

TEST(SoftmaxXentKernel, WithoutGradientTheLogitsStayAndCorrectMayBeNull) {
  XENT_REQUIRE_DEVICE();
  const Case c{2, 10, 37, 1.0f};
  std::vector<float> logits;
  std::vector<int32_t> labels;
  make_inputs(c, 5, &logits, &labels);
  const Outputs with = run_kernel(c, logits, labels, true);
  const Outputs without = run_kernel(c, logits, labels, false, /*with_correct=*/false);
  for (size_t i = 0; i < logits.size(); ++i)
    ASSERT_EQ(xent::test::float_bits(without.grad[i]), xent::test::float_bits(logits[i]));
  // The loss does not depend on whether the gradient is written.
  for (int k = 0; k < c.K; ++k) EXPECT_EQ(without.loss[k], with.loss[k]);
}

TEST(SoftmaxXentKernel, TiesPickTheFirstArgMaxAndBadLabelsGiveNaN) {
  XENT_REQUIRE_DEVICE();
  // Row 0: all equal, label 0 (first arg-max: a hit). Row 1: all equal, label 5 (a miss).
  // Row 2: a label out of range. Row 3: a negative label.
  const Case c{1, 4, 300, 1.0f};
  std::vector<float> logits(static_cast<size_t>(c.rows * c.classes), 0.5f);
  const std::vector<int32_t> labels = {0, 5, 300, -1};
  const Outputs got = run_kernel(c, logits, labels, false);
  EXPECT_EQ(got.per_row[4 + 0], got.per_row[4 + 1]);
  EXPECT_NEAR(got.per_row[4 + 0], std::log(300.0), 1e-5);
  EXPECT_TRUE(std::isnan(got.per_row[4 + 2]));
  EXPECT_TRUE(std::isnan(got.per_row[4 + 3]));
  EXPECT_EQ(got.per_row[8 + 0], 1.0f);
  EXPECT_EQ(got.per_row[8 + 1], 0.0f);
  EXPECT_TRUE(std::isnan(got.loss[0]));  // the guard must see it
  EXPECT_EQ(got.correct[0], 1.0f);
}

TEST(SoftmaxXentKernel, ResultsAreTheSameRunToRun) {
  XENT_REQUIRE_DEVICE();
  const Case c{2, 17, 5000, 2.0f};
  std::vector<float> logits;
  std::vector<int32_t> labels;
  make_inputs(c, 9, &logits, &labels);
  const Outputs a = run_kernel(c, logits, labels, true);
  const Outputs b = run_kernel(c, logits, labels, true);
  for (size_t i = 0; i < a.grad.size(); ++i)
    ASSERT_EQ(xent::test::float_bits(a.grad[i]), xent::test::float_bits(b.grad[i]));
  for (int k = 0; k < c.K; ++k)
    EXPECT_EQ(xent::test::float_bits(a.loss[k]), xent::test::float_bits(b.loss[k]));
}

#if defined(XENT_EMULATED)
TEST(SoftmaxXentKernel, EveryScheduleGivesTheSameBits) {
  // A missing barrier between the merge and the in-place writes shows under orders that let
  // one warp run ahead of the others.
  const Case c{1, 3, 5003, 2.0f};
  std::vector<float> logits;
  std::vector<int32_t> labels;
  make_inputs(c, 13, &logits, &labels);
  const Outputs lockstep = run_kernel(c, logits, labels, true);
  for (const char* order : {"greedy", "reversed", "random:1", "random:2"}) {
    xent::simt::ScheduleSpec spec;
    ASSERT_TRUE(xent::simt::parse_schedule(order, &spec));
    xent::simt::ScopedSchedule scoped(spec);
    const Outputs got = run_kernel(c, logits, labels, true);
    for (size_t i = 0; i < got.grad.size(); ++i)
      ASSERT_EQ(xent::test::float_bits(got.grad[i]), xent::test::float_bits(lockstep.grad[i]))
          << order << " element " << i;
    EXPECT_EQ(got.loss[0], lockstep.loss[0]) << order;
  }
}
#endif

}  // namespace
