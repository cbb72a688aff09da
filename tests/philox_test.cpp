// xent::Philox against cuRAND's Philox4_32_10 device API compiled for the host (when the CUDA
// headers are on the include path) and against fixed known answers (always).
#include "xent/philox.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#if __has_include(<curand_kernel.h>)
#define XENT_HAVE_CURAND 1
// cuRAND's headers are not warning-clean under the project's flags.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <curand_kernel.h>
#pragma GCC diagnostic pop
#else
#define XENT_HAVE_CURAND 0
#endif

namespace {

uint32_t bits(float f) {
  uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

// Random123's published known-answer vector for Philox4x32-10 (kat_vectors: counter 0, key 0),
// which curand_init(0, 0, 0) starts at.
TEST(Philox, Random123KnownAnswerCounterZeroKeyZero) {
  xent::Philox rng(0, 0, 0);
  EXPECT_EQ(rng.next_u32(), 0x6627e8d5u);
  EXPECT_EQ(rng.next_u32(), 0xe169c58du);
  EXPECT_EQ(rng.next_u32(), 0xbc57ac4cu);
  EXPECT_EQ(rng.next_u32(), 0x9b00dbd8u);
}

// Values recorded from CUDA 13.0's curand_kernel.h compiled for the host with g++ 12 -O2:
// curand_init(seed, subsequence, offset), six curand(), one curand_uniform(), two
// curand_normal(). They pin the behaviour where the CUDA headers are absent. The last row starts
// three values before the counter's low word wraps, so its draws cross into the second word.
struct Recorded {
  uint64_t seed, subsequence, offset;
  uint32_t u32[6];
  uint32_t uniform_bits, normal1_bits, normal2_bits;
};
constexpr Recorded kRecorded[] = {
    {0x0ull,
     0x0ull,
     0x0ull,
     {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u, 0xf8e4cca4u, 0x5cb200dbu},
     0x3f31a575u,
     0x3ea0340cu,
     0x40230d3fu},
    {0x2aull,
     0x7ull,
     0x3ull,
     {0x557398d3u, 0xe5dde940u, 0x600f6196u, 0x8fcdf8f1u, 0x2c8ed839u, 0x24ecfc6eu},
     0x3f7000abu,
     0xbfa7df40u,
     0x3f2910cau},
    {0xdeadbeefcafef00dull,
     0x200000000003039ull,
     0x5ull,
     {0xfe1ce766u, 0x4f319bb3u, 0x0503eddfu, 0x2adb2bc9u, 0x172811f2u, 0x568db081u},
     0x3e6ae25au,
     0xbe9e7710u,
     0x3f03a1bdu},
    {0x7bull,
     0xffffffffffffffffull,
     0x3fffffffeull,
     {0xf2a065c1u, 0x5abdcf8fu, 0xfe0ef8b1u, 0xa635553au, 0x2b2598cfu, 0x10bb0ba1u},
     0x3e839b49u,
     0xbff2e3a9u,
     0x3f056b97u},
};

TEST(Philox, MatchesRecordedCurandValues) {
  for (const Recorded& r : kRecorded) {
    SCOPED_TRACE(testing::Message() << "seed " << r.seed << " subsequence " << r.subsequence
                                    << " offset " << r.offset);
    xent::Philox rng(r.seed, r.subsequence, r.offset);
    for (uint32_t expected : r.u32) EXPECT_EQ(rng.next_u32(), expected);
    EXPECT_EQ(bits(rng.uniform()), r.uniform_bits);
    // Exact: the recording and this build both evaluate Box-Muller with glibc's logf/sinf/cosf
    // in float. Another libm could differ in the last bit; the device differs by ~1e-6.
    EXPECT_EQ(bits(rng.normal()), r.normal1_bits);
    EXPECT_EQ(bits(rng.normal()), r.normal2_bits);
  }
}

TEST(Philox, UniformIsInHalfOpenUnitInterval) {
  // The extreme inputs: u32 0 gives the smallest value, 2^32 - 1 rounds up to exactly 1.
  EXPECT_GT(xent::Philox::to_uniform(0u), 0.0f);
  EXPECT_EQ(xent::Philox::to_uniform(0xffffffffu), 1.0f);
  xent::Philox rng(7, 3, 0);
  float lo = 1.0f, hi = 0.0f;
  double sum = 0.0;
  constexpr int kDraws = 1 << 20;
  for (int i = 0; i < kDraws; ++i) {
    const float u = rng.uniform();
    ASSERT_GT(u, 0.0f);
    ASSERT_LE(u, 1.0f);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    sum += static_cast<double>(u);
  }
  // Mean of U(0,1) is 1/2 with standard error sqrt(1/12 / 2^20) = 2.8e-4: 5e-3 is ~18 SE.
  EXPECT_NEAR(sum / kDraws, 0.5, 5e-3);
  // The smallest of 2^20 uniforms exceeds 2^-14 with probability exp(-64): the generator
  // spreads, it does not stick near one end.
  EXPECT_LT(lo, 1.0f / 16384.0f);
  EXPECT_GT(hi, 1.0f - 1.0f / 16384.0f);
}

TEST(Philox, UniformDoubleIsInHalfOpenUnitInterval) {
  xent::Philox rng(11, 0, 0);
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.uniform_double();
    ASSERT_GT(u, 0.0);
    ASSERT_LE(u, 1.0);
  }
}

TEST(Philox, NormalMomentsAndCaching) {
  xent::Philox rng(5, 9, 0);
  constexpr int kDraws = 1 << 18;
  double s1 = 0.0, s2 = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = static_cast<double>(rng.normal());
    ASSERT_TRUE(std::isfinite(x));
    s1 += x;
    s2 += x * x;
  }
  // SE of the mean is 1/512 = 2e-3 and of the second moment sqrt(2)/512 = 2.8e-3: 0.015 is
  // over 5 SE for both.
  EXPECT_NEAR(s1 / kDraws, 0.0, 0.015);
  EXPECT_NEAR(s2 / kDraws, 1.0, 0.015);
  // A pair consumes two u32 and the second normal consumes none: after two normals the stream
  // is at offset 2.
  xent::Philox a(5, 9, 0), b(5, 9, 2);
  a.normal();
  a.normal();
  EXPECT_EQ(a.next_u32(), b.next_u32());
}

TEST(Philox, LaplaceFromUniformIsFiniteAtTheEnds) {
  // The extreme float uniforms: 2^-33, the largest value <= 1/2, the smallest > 1/2, and 1.
  const double ends[] = {static_cast<double>(xent::Philox::to_uniform(0u)), 0.5,
                         0.5 + std::ldexp(1.0, -24), 1.0};
  for (double u : ends) EXPECT_TRUE(std::isfinite(xent::laplace_from_uniform(u))) << u;
  EXPECT_EQ(xent::laplace_from_uniform(0.5), 0.0);
  EXPECT_EQ(xent::laplace_from_uniform(1.0), 0.0);
  // Laplace(0,1): E|X| = 1, Var X = 2. With 2^20 draws the SEs are 1e-3 (|X|, sd 1) and
  // 4.5e-3 (X^2, sd sqrt(20)): tolerances 0.01 and 0.04 are ~9 SE.
  xent::Philox rng(3, 1, 0);
  constexpr int kDraws = 1 << 20;
  double abs_sum = 0.0, sq_sum = 0.0, sum = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = xent::laplace_from_uniform(static_cast<double>(rng.uniform()));
    ASSERT_TRUE(std::isfinite(x));
    sum += x;
    abs_sum += std::abs(x);
    sq_sum += x * x;
  }
  EXPECT_NEAR(sum / kDraws, 0.0, 0.01);
  EXPECT_NEAR(abs_sum / kDraws, 1.0, 0.01);
  EXPECT_NEAR(sq_sum / kDraws, 2.0, 0.04);
}

#if XENT_HAVE_CURAND

struct Config {
  uint64_t seed, subsequence, offset;
};

// Offsets 0..7 cover every STATE; 4 * (2^32 - 1) + k crosses the counter's low word; the large
// subsequences exercise the upper words, including the project's own stream layout.
const Config kConfigs[] = {
    {0, 0, 0},
    {1, 0, 0},
    {42, 7, 1},
    {42, 7, 2},
    {42, 7, 3},
    {42, 7, 5},
    {42, 7, 7},
    {0xdeadbeefcafef00dull, (uint64_t{3} << 56) | 12345u, 6},
    {123, 0xffffffffffffffffull, 4ull * 0xffffffffull + 1},
    {99, 0x123456789abcdefull, (uint64_t{1} << 40) + 3},
    {0xffffffffffffffffull, 0x100000000ull, 4ull * 0xffffffffull + 3},
};

// Interleaves the four calls in a fixed, irregular pattern, so that normals start at every
// STATE and the Box-Muller cache survives other calls in between, as it does in cuRAND.
TEST(Philox, MatchesHostCompiledCurand) {
  for (const Config& c : kConfigs) {
    SCOPED_TRACE(testing::Message() << "seed " << c.seed << " subsequence " << c.subsequence
                                    << " offset " << c.offset);
    xent::Philox mine(c.seed, c.subsequence, c.offset);
    curandStatePhilox4_32_10_t ref;
    curand_init(c.seed, c.subsequence, c.offset, &ref);
    int normals_exact = 0, normals = 0;
    for (int i = 0; i < 400; ++i) {
      switch ((i * 7 + i / 5) % 5) {
        case 0:
          ASSERT_EQ(mine.next_u32(), curand(&ref)) << "draw " << i;
          break;
        case 1:
          ASSERT_EQ(bits(mine.uniform()), bits(curand_uniform(&ref))) << "draw " << i;
          break;
        case 2:
        case 3: {
          const float a = mine.normal();
          const float b = curand_normal(&ref);
          // 1e-5 is what a device comparison needs (__sincosf: ~4e-7 absolute on [0, 2 pi],
          // times the Box-Muller radius <= 6.7); on the host the same libm calls should agree
          // exactly, which the count below checks.
          ASSERT_NEAR(a, b, 1e-5f) << "draw " << i;
          normals_exact += bits(a) == bits(b) ? 1 : 0;
          ++normals;
          break;
        }
        default:
          ASSERT_EQ(mine.uniform_double(), curand_uniform_double(&ref)) << "draw " << i;
          break;
      }
    }
    EXPECT_EQ(normals_exact, normals);
    // The streams must still be in step after the mixed calls.
    EXPECT_EQ(mine.next_u32(), curand(&ref));
  }
}

TEST(Philox, MatchesHostCompiledCurandOverLongStream) {
  xent::Philox mine(2024, 5, 0);
  curandStatePhilox4_32_10_t ref;
  curand_init(2024, 5, 0, &ref);
  for (int i = 0; i < 100000; ++i) ASSERT_EQ(mine.next_u32(), curand(&ref)) << "draw " << i;
}

#else

TEST(Philox, MatchesHostCompiledCurand) {
  GTEST_SKIP() << "curand_kernel.h not on the include path: only the recorded values are checked";
}

#endif

}  // namespace
