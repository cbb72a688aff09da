// kernels/linear.cu, the bias add and the bias gradient around the CUDA backend's cuBLAS
// products, against xent::cpu::linear_forward / linear_backward.
//
// db is summed in double on both sides (different orders, each within rows * 2^-53 * sum|dy|
// of exact), then rounded to float once: they differ by at most one float rounding, eps |want|,
// plus twice that double error.
#include "kernel_harness.h"
//
#include <cmath>
#include <cstdint>
#include <random>

#include "cpu/ops.h"
#include "kernels/linear.h"

namespace {

using xent::LinearShape;
using xent::test::DeviceVector;
using xent::test::uniforms;

using xent::test::count;
using xent::test::kEpsDouble;
using xent::test::kEpsFloat;

// The bias launchers (for GEMMs done elsewhere). Adding b to the CPU's bias-free product is the
// CPU's own last step, one float addition per element, so the bits agree with its biased
// forward on any device; the column sums agree with the CPU's within the tolerance above.
TEST(LinearKernel, StandaloneBiasAddAndGradient) {
  XENT_REQUIRE_DEVICE();
  for (const LinearShape& s : {LinearShape{1, 1, 2, 1}, LinearShape{3, 67, 5, 33}}) {
    const std::vector<float> x = uniforms(count(s.K, s.rows, s.in), 12);
    const std::vector<float> w = uniforms(count(s.K, s.out, s.in), 13);
    const std::vector<float> b = uniforms(count(s.K, s.out), 14);
    std::vector<float> plain(count(s.K, s.rows, s.out)), want(plain.size());
    xent::cpu::linear_forward(s, x.data(), w.data(), nullptr, plain.data());
    xent::cpu::linear_forward(s, x.data(), w.data(), b.data(), want.data());
    DeviceVector<float> d_b(b), d_y(plain), d_db(b.size());
    xent::kernels::linear_add_bias(s, d_b.get(), d_y.get(), nullptr);
    const std::vector<float> got = d_y.download();
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(xent::test::float_bits(got[i]), xent::test::float_bits(want[i])) << "i=" << i;

    // y as dy: db against the CPU's double column sums.
    std::vector<float> dx(count(s.K, s.rows, s.in)), dw(w.size()), want_db(b.size());
    xent::cpu::linear_backward(s, x.data(), w.data(), want.data(), dx.data(), dw.data(),
                               want_db.data());
    xent::kernels::linear_bias_grad(s, d_y.get(), d_db.get(), nullptr);
    const std::vector<float> got_db = d_db.download();
    for (int k = 0; k < s.K; ++k)
      for (int o = 0; o < s.out; ++o) {
        double abs_sum = 0.0;
        for (int64_t r = 0; r < s.rows; ++r)
          abs_sum += std::fabs(want[(k * s.rows + r) * s.out + o]);
        const size_t i = count(k, s.out) + static_cast<size_t>(o);
        ASSERT_LE(std::fabs(static_cast<double>(got_db[i]) - want_db[i]),
                  kEpsFloat * std::fabs(want_db[i]) +
                      2.0 * static_cast<double>(s.rows) * kEpsDouble * abs_sum)
            << "k=" << k << " o=" << o;
      }
  }
}

}  // namespace
