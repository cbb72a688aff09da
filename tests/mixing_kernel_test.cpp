// kernels/mixing.cu against xent::mixing_forward (host/cpu/mixing.cpp).
//
// Tolerance. Both sides evaluate the same double expressions in the same order and round to
// float once, so the emulated kernel (g++ contracts no FMAs) gives the CPU's bits exactly. On
// the GPU nvcc contracts the double multiply-adds: the double results then differ by a few
// double roundings per layer, ~d * 2^-53 * sum|w||v| with |v| = O(1) here (unit-norm columns,
// inputs of norm ~1), so well under 1e-12 after four layers. Rounding two doubles that close
// to float gives results at most 1e-12 + eps |want| apart (eps = 2^-23: one rounding each side).
#include "kernel_harness.h"
//
#include <cmath>
#include <cstdint>
#include <random>

#include "kernels/mixing.h"
#include "xent/dgp.h"
#include "xent/error.h"

namespace {

using xent::test::DeviceVector;

using xent::test::normals;

// K replicas' weights: the real construction (a short condition-number search) for the small d
// the paper uses, N(0, 1/d) entries (columns of norm ~1) for wide d, where the search's SVDs
// would dominate the test.
std::vector<float> weights_for(int K, int layers, int d) {
  if (d > 20)
    return normals(static_cast<size_t>(K * layers * d * d), 21,
                   1.0f / std::sqrt(static_cast<float>(d)));
  std::vector<float> w;
  for (int k = 0; k < K; ++k) {
    xent::DgpParams p;
    p.d = d;
    p.mixing_layers = layers;
    p.mixing_cond_draws = 8;
    const std::vector<float> wk = xent::draw_mixing(p, static_cast<uint64_t>(100 + k));
    w.insert(w.end(), wk.begin(), wk.end());
  }
  return w;
}

void check_mixing(int K, int layers, int d, int64_t n) {
  const std::vector<float> w = weights_for(K, layers, d);
  // Inputs of norm ~1, like the latents on the sphere, with both signs for the LeakyReLU.
  const size_t total = static_cast<size_t>(K * n * d);
  const std::vector<float> z = normals(total, 22, 1.0f / std::sqrt(static_cast<float>(d)));
  std::vector<float> want(total);
  const size_t per_w = static_cast<size_t>(layers * d * d), per_z = static_cast<size_t>(n * d);
  for (int k = 0; k < K; ++k)
    xent::mixing_forward(w.data() + k * per_w, layers, d, z.data() + k * per_z, n,
                         want.data() + k * per_z);

  DeviceVector<float> d_w(w), d_z(z), d_x(total);
  xent::kernels::mixing_forward(K, layers, d, d_w.get(), d_z.get(), n, d_x.get(), nullptr);
  const std::vector<float> got = d_x.download();
  for (size_t i = 0; i < total; ++i) {
    if (xent::test::kEmulated) {
      ASSERT_EQ(xent::test::float_bits(got[i]), xent::test::float_bits(want[i]))
          << "K=" << K << " layers=" << layers << " d=" << d << " n=" << n << " i=" << i;
    } else {
      ASSERT_NEAR(got[i], want[i], 1e-12 + 0x1p-23 * std::fabs(want[i]))
          << "K=" << K << " layers=" << layers << " d=" << d << " n=" << n << " i=" << i;
    }
  }
}

TEST(MixingKernel, ThreadPerSampleMatchesCpu) {
  XENT_REQUIRE_DEVICE();
  // Every d of the register path's range boundaries and the paper's; n ragged against the
  // 128-thread blocks.
  for (int d : {2, 3, 5, 10, 17, 20}) check_mixing(1, 4, d, 129);
  check_mixing(3, 4, 5, 300);
  check_mixing(2, 1, 10, 1);  // one layer: no activation at all
  check_mixing(2, 2, 20, 127);
}

TEST(MixingKernel, BlockPerSampleMatchesCpu) {
  XENT_REQUIRE_DEVICE();
  check_mixing(1, 4, 21, 9);
  check_mixing(2, 3, 300, 5);  // more rows than threads: two per thread
}

// The wide path hands the vector between layers through shared memory: a racing schedule
// would expose a missing barrier.
TEST(MixingKernel, BlockPerSampleUnderRacingSchedules) {
  XENT_REQUIRE_DEVICE();
#if defined(XENT_EMULATED)
  using xent::simt::Schedule;
  for (Schedule order : {Schedule::kGreedy, Schedule::kReversed, Schedule::kRandom}) {
    xent::simt::ScopedSchedule scoped({order, 3});
    check_mixing(2, 4, 260, 3);
  }
#else
  GTEST_SKIP() << "schedules are the emulator's";
#endif
}

TEST(MixingKernel, RejectsUnsupportedShapes) {
  XENT_REQUIRE_DEVICE();
  EXPECT_THROW(xent::kernels::mixing_forward(1, 4, 4097, nullptr, nullptr, 1, nullptr, nullptr),
               xent::InputError);
  EXPECT_THROW(xent::kernels::mixing_forward(1, 4, 1, nullptr, nullptr, 1, nullptr, nullptr),
               xent::InputError);
  EXPECT_THROW(xent::kernels::mixing_forward(1, 0, 5, nullptr, nullptr, 1, nullptr, nullptr),
               xent::InputError);
  // Nothing to do is not an error.
  xent::kernels::mixing_forward(1, 4, 5, nullptr, nullptr, 0, nullptr, nullptr);
}

}  // namespace
