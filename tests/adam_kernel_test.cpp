// kernels/adam.cu against xent::cpu::adam.
#include "kernel_harness.h"
//
#include <cmath>
#include <random>

#include "cpu/ops.h"
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
    xent::kernels::adam(n, d_param.get() + offset, d_grad.get() + offset, d_m.get() + offset,
                        d_v.get() + offset, a, nullptr, nullptr);
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

// The step read from device memory (what a replayed graph does) gives the same update as the
// step passed by value.
TEST(AdamKernel, StepFromDeviceMemoryEqualsStepByValue) {
  XENT_REQUIRE_DEVICE();
  const size_t n = 1001;
  const std::vector<float> param = normals(n, 3, 1.0f), grad = normals(n, 4, 0.1f), zeros(n, 0.0f);
  xent::AdamParams a;
  a.step = 7;
  DeviceVector<float> p1(param), g(grad), m1(zeros), v1(zeros), p2(param), m2(zeros), v2(zeros);
  DeviceVector<int64_t> step(std::vector<int64_t>{7});
  xent::kernels::adam(n, p1.get(), g.get(), m1.get(), v1.get(), a, nullptr, nullptr);
  a.step = 1;  // ignored: *step wins
  xent::kernels::adam(n, p2.get(), g.get(), m2.get(), v2.get(), a, step.get(), nullptr);
  const std::vector<float> x = p1.download(), y = p2.download();
  for (size_t i = 0; i < n; ++i)
    ASSERT_EQ(xent::test::float_bits(x[i]), xent::test::float_bits(y[i])) << "i=" << i;
}

}  // namespace
