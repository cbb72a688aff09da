// Philox4x32-10 on the host, reproducing cuRAND's curandStatePhilox4_32_10_t bit for bit, so
// that a host reference and a CUDA kernel that calls curand_init(seed, subsequence, offset) draw
// the same numbers.
//
// What matches what (as compiled for the host; see tests/philox_test.cpp):
//   next_u32()        == curand()               exactly
//   uniform()         == curand_uniform()       exactly
//   uniform_double()  == curand_uniform_double() exactly (32 random bits, range (0, 1])
//   normal()          == curand_normal()        exactly on the host; the device computes the
//                        Box-Muller sin/cos with the fast __sincosf, so device normals differ from
//                        these in the last bits (about 1e-6). The order of consumption (two u32 per
//                        pair, the second value cached) is identical, so streams stay in step.
// The float expressions below must stay in float (x86-64 evaluates float in float). Whether the
// compiler fuses float(u32) * 2^-32 + 2^-33 into one FMA does not matter for uniform(): the
// product is exact, so nvcc's default --fmad=true gives the same uniforms on the device (also
// checked exhaustively over all 2^32 inputs). For the Box-Muller angle, whose factor 2^-32 * 2 pi
// is not a power of two, an FMA changes ~1% of angles by one ulp: inside the normal tolerance.
#pragma once
#include <cmath>
#include <cstdint>

namespace xent {

class Philox {
 public:
  Philox(uint64_t seed, uint64_t subsequence, uint64_t offset) {
    key0_ = static_cast<uint32_t>(seed);
    key1_ = static_cast<uint32_t>(seed >> 32);
    // A subsequence is 2^64 counter blocks: it lives in the counter's upper two words.
    add_hi(subsequence);
    // curand_init skips `offset` single values from STATE 0.
    state_ = static_cast<uint32_t>(offset & 3);
    add_lo(offset / 4);
    refill();
  }

  uint32_t next_u32() {
    const uint32_t ret = out_[state_++];
    if (state_ == 4) {
      increment();
      refill();
      state_ = 0;
    }
    return ret;
  }

  // (0, 1]: the largest u32 rounds up to 1.0f, the smallest gives 2^-33.
  float uniform() { return to_uniform(next_u32()); }

  double uniform_double() {
    return static_cast<double>(next_u32()) * kTwoPow32InvDouble + kTwoPow32InvDouble;
  }

  float normal() {
    if (have_extra_) {
      have_extra_ = false;
      return extra_;
    }
    const uint32_t x = next_u32();
    const uint32_t y = next_u32();
    const float u = static_cast<float>(x) * kTwoPow32Inv + (kTwoPow32Inv / 2.0f);
    const float v = static_cast<float>(y) * kTwoPow32Inv2Pi + (kTwoPow32Inv2Pi / 2.0f);
    const float s = std::sqrt(-2.0f * std::log(u));
    extra_ = std::cos(v) * s;
    have_extra_ = true;
    return std::sin(v) * s;
  }

  static float to_uniform(uint32_t x) {
    return static_cast<float>(x) * kTwoPow32Inv + (kTwoPow32Inv / 2.0f);
  }

 private:
  // cuRAND's literals, spelled as cuRAND spells them: 2.3283064e-10f rounds to exactly 2^-32,
  // 6.2831855f is 2 pi rounded to float, and their float product is the angle factor.
  static constexpr float kTwoPow32Inv = 2.3283064e-10f;
  static constexpr float kTwoPow32Inv2Pi = 2.3283064e-10f * 6.2831855f;
  static constexpr double kTwoPow32InvDouble = 2.3283064365386963e-10;
  static constexpr uint32_t kW0 = 0x9E3779B9u;
  static constexpr uint32_t kW1 = 0xBB67AE85u;
  static constexpr uint32_t kM0 = 0xD2511F53u;
  static constexpr uint32_t kM1 = 0xCD9E8D57u;

  // cuRAND's Philox_State_Incr(state, n), including its carry test on the second word, which
  // misses a carry when nhi wraps; copied as is so that huge offsets land where cuRAND's do.
  void add_lo(uint64_t n) {
    const uint32_t nlo = static_cast<uint32_t>(n);
    uint32_t nhi = static_cast<uint32_t>(n >> 32);
    ctr_[0] += nlo;
    if (ctr_[0] < nlo) ++nhi;
    ctr_[1] += nhi;
    if (nhi <= ctr_[1]) return;
    if (++ctr_[2] != 0) return;
    ++ctr_[3];
  }

  void add_hi(uint64_t n) {
    const uint32_t nlo = static_cast<uint32_t>(n);
    uint32_t nhi = static_cast<uint32_t>(n >> 32);
    ctr_[2] += nlo;
    if (ctr_[2] < nlo) ++nhi;
    ctr_[3] += nhi;
  }

  void increment() {
    for (uint32_t& w : ctr_) {
      if (++w != 0) return;
    }
  }

  void refill() {
    uint32_t c0 = ctr_[0], c1 = ctr_[1], c2 = ctr_[2], c3 = ctr_[3];
    uint32_t k0 = key0_, k1 = key1_;
#pragma GCC unroll 10
    for (int round = 0; round < 10; ++round) {
      const uint64_t p0 = uint64_t{kM0} * c0;
      const uint64_t p1 = uint64_t{kM1} * c2;
      const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
      const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
      c0 = hi1 ^ c1 ^ k0;
      c1 = lo1;
      c2 = hi0 ^ c3 ^ k1;
      c3 = lo0;
      k0 += kW0;
      k1 += kW1;
    }
    out_[0] = c0;
    out_[1] = c1;
    out_[2] = c2;
    out_[3] = c3;
  }

  uint32_t ctr_[4] = {0, 0, 0, 0};
  uint32_t out_[4] = {0, 0, 0, 0};
  uint32_t key0_ = 0;
  uint32_t key1_ = 0;
  uint32_t state_ = 0;
  bool have_extra_ = false;
  float extra_ = 0.0f;
};

// Laplace(0, 1) from one uniform u in (0, 1] (as uniform() returns): the inverse CDF, with the
// upper half reflected (u -> 3/2 - u) so that no branch ever takes log(0):
//   u <= 1/2:  log(2u)        in [log(2^-32), 0]   (u >= 2^-33)
//   u >  1/2: -log(2u - 1)    in [0, 23 log 2]     (2u - 1 >= 2^-23 for a float u > 1/2, and
//                                                   is computed exactly in double)
// Both halves are exact transforms of a uniform, so the result is Laplace(0, 1) up to the float
// uniform's resolution, and always finite.
inline double laplace_from_uniform(double u) {
  return u <= 0.5 ? std::log(2.0 * u) : -std::log(2.0 * u - 1.0);
}

}  // namespace xent
