// kernels/adam.cu against xent::cpu::adam.
#include "kernel_harness.h"
//
#include <cmath>
#include <random>

#include "cpu/ops.h"
#include "cuda/cuda_backend.h"
#include "kernels/adam.h"

namespace {

using xent::test::DeviceVector;

using xent::test::normals;

// Several steps of both implementations from the same state; `offset` shifts every buffer off
// 16-byte alignment so the scalar path runs alone.
void check_adam(int64_t n, int64_t offset) {
  const size_t total = static_cast<size_t>(n + offset);
  std::vector<float> param = normals(total, 1, 1.0f), m(total, 0.0f), v(total, 0.0f);
  DeviceVector<float> d_param(param), d_grad(total), d_m(m), d_v(v);
  xent::AdamParams a;
  a.lr = 3e-3f;
  for (int64_t step = 1; step <= 5; ++step) {
    const std::vector<float> grad = normals(total, static_cast<uint32_t>(100 + step), 0.1f);
    a.step = step;
    xent::cpu::adam(n, param.data() + offset, grad.data() + offset, m.data() + offset,
                    v.data() + offset, a, nullptr);
    d_grad.upload(grad);
    xent::kernels::AdamCorrections c;
    c.now = xent::cpu::adam_correction(a, step);
    xent::kernels::adam(n, d_param.get() + offset, d_grad.get() + offset, d_m.get() + offset,
                        d_v.get() + offset, a, c, nullptr);
  }
  const std::vector<float> got_p = d_param.download(), got_m = d_m.download(),
                           got_v = d_v.download();
  for (size_t i = 0; i < total; ++i) {
    if (xent::test::kEmulated) {
      ASSERT_EQ(xent::test::float_bits(got_p[i]), xent::test::float_bits(param[i])) << "i=" << i;
      ASSERT_EQ(xent::test::float_bits(got_m[i]), xent::test::float_bits(m[i])) << "i=" << i;
      ASSERT_EQ(xent::test::float_bits(got_v[i]), xent::test::float_bits(v[i])) << "i=" << i;
    } else {
      // FMA contraction on the GPU: a few ulps per step on m and v. The step is lr * m / (sqrt
      // v + eps), about lr in size, so 5 steps differ by far less than 1e-6 absolute.
      ASSERT_NEAR(got_p[i], param[i], 1e-6f) << "i=" << i;
      ASSERT_NEAR(got_m[i], m[i], 1e-6f * std::fabs(m[i]) + 1e-9f) << "i=" << i;
      ASSERT_NEAR(got_v[i], v[i], 1e-5f * std::fabs(v[i]) + 1e-12f) << "i=" << i;
    }
  }
}

TEST(AdamKernel, MatchesCpuOnAlignedBuffersWithARaggedTail) {
  XENT_REQUIRE_DEVICE();
  for (int64_t n : {1, 3, 4, 255, 256, 1027, 70001}) check_adam(n, 0);
}

TEST(AdamKernel, MatchesCpuOnMisalignedBuffers) {
  XENT_REQUIRE_DEVICE();
  for (int64_t n : {5, 1027}) check_adam(n, 1);
}

// The table is the CPU twin's corrections, step by step, up to the first step where both
// betas' powers are at most 2^-26 (0.999^t: t = 26 ln 2 / -ln 0.999 = 18,012), whose entry is
// exactly lr and 1.
TEST(AdamTable, IsTheCpuCorrectionsUntilBothReachOne) {
  xent::AdamParams a;
  a.lr = 3e-3f;
  const xent::cuda::AdamTable t = xent::cuda::adam_table(a);
  ASSERT_TRUE(t.saturated);
  EXPECT_NEAR(static_cast<double>(t.steps.size()), 18012.0, 2.0);
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const xent::AdamCorrection want = xent::cpu::adam_correction(a, static_cast<int64_t>(i) + 1);
    ASSERT_EQ(xent::test::float_bits(t.steps[i].step_size), xent::test::float_bits(want.step_size));
    ASSERT_EQ(xent::test::float_bits(t.steps[i].bc2_sqrt), xent::test::float_bits(want.bc2_sqrt));
  }
  EXPECT_EQ(t.steps.back().step_size, a.lr);
  EXPECT_EQ(t.steps.back().bc2_sqrt, 1.0f);
  EXPECT_FALSE(xent::cuda::adam_table(a, 1000).saturated);
}

// One update of n = 8 parameters (the float4 path) from a fixed state at step t, read from
// device memory (what a replayed graph does) with the corrections from `table`, or given by
// value as `now`.
class AdamAtStep {
 public:
  AdamAtStep()
      : param_(normals(kN, 3, 1.0f)),
        grad_(normals(kN, 4, 0.1f)),
        m_(normals(kN, 5, 0.01f)),
        v_(kN, 1e-4f) {}

  std::vector<float> by_value(const xent::AdamParams& a, const xent::AdamCorrection& now) {
    xent::kernels::AdamCorrections c;
    c.now = now;
    return run(a, c);
  }
  std::vector<float> from_table(const xent::AdamParams& a, int64_t t,
                                const DeviceVector<xent::AdamCorrection>& table, bool saturated) {
    step_.upload({t});
    xent::kernels::AdamCorrections c;
    c.step = step_.get();
    c.table = table.get();
    c.steps = static_cast<int64_t>(table.size());
    c.saturated = saturated;
    return run(a, c);
  }

 private:
  static constexpr size_t kN = 8;
  std::vector<float> run(const xent::AdamParams& a, const xent::kernels::AdamCorrections& c) {
    p_.upload(param_);
    m_dev_.upload(m_);
    v_dev_.upload(v_);
    xent::kernels::adam(kN, p_.get(), g_.get(), m_dev_.get(), v_dev_.get(), a, c, nullptr);
    return p_.download();
  }
  std::vector<float> param_, grad_, m_, v_;
  DeviceVector<float> p_{kN}, g_{grad_}, m_dev_{kN}, v_dev_{kN};
  DeviceVector<int64_t> step_{1};
};

void expect_same_bits(const std::vector<float>& x, const std::vector<float>& y, int64_t t) {
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(xent::test::float_bits(x[i]), xent::test::float_bits(y[i]))
        << "t=" << t << " i=" << i;
}

// A recorded step reads its bias corrections from the host's table (the CPU twin's
// expressions), not from the device's powf, which on a GPU rounds about 5% of the steps up to
// 2,000 differently from glibc's: every step's update is the update with the CPU's
// corrections, bit for bit, on the GPU as under the emulator. Steps 1-2,000, around the
// table's end and far past it (where the saturated table's last entry, lr and 1, serves).
TEST(AdamKernel, StepFromDeviceMemoryUsesTheCpuCorrectionsAtEveryStep) {
  XENT_REQUIRE_DEVICE();
  xent::AdamParams a;
  a.lr = 3e-3f;
  const xent::cuda::AdamTable host = xent::cuda::adam_table(a);
  ASSERT_TRUE(host.saturated);
  const auto end = static_cast<int64_t>(host.steps.size());
  const DeviceVector<xent::AdamCorrection> table(host.steps);
  std::vector<int64_t> steps;
  for (int64_t t = 1; t <= 2000; ++t) steps.push_back(t);
  for (int64_t t : {end - 2, end - 1, end, end + 1, int64_t{500000}, int64_t{1} << 40})
    steps.push_back(t);
  AdamAtStep run;
  for (int64_t t : steps)
    expect_same_bits(run.from_table(a, t, table, true),
                     run.by_value(a, xent::cpu::adam_correction(a, t)), t);
}

// The kernel takes the corrections from the table: an entry planted with a different value
// changes that step's update and no other.
TEST(AdamKernel, StepFromDeviceMemoryReadsTheTable) {
  XENT_REQUIRE_DEVICE();
  const xent::AdamParams a;
  std::vector<xent::AdamCorrection> host = xent::cuda::adam_table(a).steps;
  host[6].step_size *= 2.0f;  // step 7
  const DeviceVector<xent::AdamCorrection> table(host);
  AdamAtStep run;
  expect_same_bits(run.from_table(a, 7, table, true), run.by_value(a, host[6]), 7);
  const std::vector<float> right = run.by_value(a, xent::cpu::adam_correction(a, 7));
  const std::vector<float> planted = run.from_table(a, 7, table, true);
  for (size_t i = 0; i < right.size(); ++i) EXPECT_NE(planted[i], right[i]) << "i=" << i;
  expect_same_bits(run.from_table(a, 8, table, true),
                   run.by_value(a, xent::cpu::adam_correction(a, 8)), 8);
}

// Past a table that has not saturated (a beta2 within about 1e-5 of 1) the kernel computes the
// corrections itself: glibc's powf under the emulator, the device's on a GPU.
TEST(AdamKernel, StepPastAnUnsaturatedTableComputesTheCorrections) {
  XENT_REQUIRE_DEVICE();
  const xent::AdamParams a;
  const xent::cuda::AdamTable host = xent::cuda::adam_table(a, 10);
  ASSERT_FALSE(host.saturated);
  const DeviceVector<xent::AdamCorrection> table(host.steps);
  AdamAtStep run;
  for (int64_t t : {10, 11, 5000}) {
    const std::vector<float> got = run.from_table(a, t, table, false),
                             want = run.by_value(a, xent::cpu::adam_correction(a, t));
    if (xent::test::kEmulated) {
      expect_same_bits(got, want, t);
    } else {
      // powf's last bit moves a step of about lr by ~1e-10, which can round the parameter
      // (|p| < 4) one ulp, 2.4e-7, the other way.
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 5e-7f) << "t=" << t;
    }
  }
}

}  // namespace
