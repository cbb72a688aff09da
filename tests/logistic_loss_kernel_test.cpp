// kernels/logistic_loss.cu against xent::cpu::logistic_loss, and the logistic fits through the
// CUDA backend against the CPU backend's.
//
// Tolerances. Under the emulator the kernel spells the twin's float expression with the same
// libm, so gradients and per-row terms are the same bits, and the sums run in the same order:
// the losses are the same bits too. On a GPU, expf and log1pf differ from glibc's by an ulp or
// two and nvcc contracts y * z into the subtraction: each term moves by a few float ulps of
// |term| + |z|, the gradient by a few ulps of w.
#include "kernel_harness.h"
//
#include <cmath>
#include <random>

#include "cpu/cpu_backend.h"
#include "cpu/ops.h"
#include "cuda/cuda_backend.h"
#include "kernels/logistic_loss.h"
#include "xent/logistic.h"

namespace {

using xent::test::DeviceVector;

struct Case {
  int64_t rows;
  int fits;
};

TEST(LogisticLossKernel, MatchesCpu) {
  XENT_REQUIRE_DEVICE();
  // One partial block; two blocks and a ragged fit tile; many blocks, fits across tiles.
  for (const Case c : {Case{5, 1}, Case{300, 33}, Case{2100, 70}}) {
    SCOPED_TRACE("rows " + std::to_string(c.rows) + " fits " + std::to_string(c.fits));
    const xent::LogisticShape s{c.rows, c.fits};
    std::mt19937 gen(static_cast<uint32_t>(c.rows));
    std::normal_distribution<float> normal(0.0f, 5.0f);
    std::vector<float> z(xent::test::count(c.rows, c.fits)), y(z.size()), w(z.size());
    for (size_t i = 0; i < z.size(); ++i) {
      z[i] = normal(gen);
      y[i] = static_cast<float>(gen() % 2);
      w[i] = static_cast<float>(gen() % 2);
    }
    std::vector<float> want_g = z;
    std::vector<double> want(static_cast<size_t>(c.fits));
    xent::cpu::logistic_loss(s, want_g.data(), y.data(), w.data(), want.data());
    const int64_t blocks = (c.rows + xent::kLogisticBlock - 1) / xent::kLogisticBlock;
    DeviceVector<float> d_z(z), d_y(y), d_w(w);
    DeviceVector<double> table(xent::test::count(blocks, c.fits)), loss(want.size());
    xent::kernels::logistic_loss(s, d_z.get(), d_y.get(), d_w.get(), table.get(), loss.get(),
                                 nullptr);
    const std::vector<float> got_g = d_z.download();
    const std::vector<double> got = loss.download();
    for (size_t i = 0; i < z.size(); ++i) {
      if (xent::test::kEmulated)
        ASSERT_EQ(xent::test::float_bits(got_g[i]), xent::test::float_bits(want_g[i])) << i;
      else
        ASSERT_NEAR(got_g[i], want_g[i], 4 * xent::test::kEpsFloat * w[i] + 1e-30) << i;
    }
    for (int f = 0; f < c.fits; ++f) {
      double bound = 0.0;
      for (int64_t r = 0; r < c.rows; ++r) {
        const size_t i = static_cast<size_t>(r) * c.fits + f;
        bound += 4 * xent::test::kEpsFloat * w[i] *
                 (std::fabs(static_cast<double>(z[i])) + std::log1p(std::exp(-std::fabs(z[i]))));
      }
      if (xent::test::kEmulated)
        EXPECT_EQ(got[f], want[f]) << "fit " << f;
      else
        EXPECT_NEAR(got[f], want[f], bound) << "fit " << f;
    }
  }
}

// Whole fits: the GEMMs sum in other orders on the two backends, which moves the logits by
// float rounding; both stop at max |grad| <= 1e-4, within 3.5e-6 of the optimum at these 700
// rows (tests/logistic_test.cpp, "the float floor"): 1e-5.
TEST(LogisticLossKernel, FitsThroughTheCudaBackendMatchTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  const int64_t n = 700;
  const int p = 5, F = 3;
  std::mt19937 gen(3);
  std::normal_distribution<float> normal;
  std::vector<float> x(xent::test::count(n, p)), y(xent::test::count(n, F)), w(y.size(), 1.0f);
  for (float& v : x) v = normal(gen);
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = normal(gen) + x[i / F * p + i % F] > 0.0f ? 1.0f : 0.0f;
  const xent::LogisticOptions o;
  xent::LogisticFits r[2];
  xent::CpuBackend cpu(1);
  xent::cuda::CudaBackend gpu;
  int i = 0;
  for (xent::Backend* b : {static_cast<xent::Backend*>(&cpu), static_cast<xent::Backend*>(&gpu)}) {
    xent::DeviceArray<float> dx(*b, x.size()), dy(*b, y.size()), dw(*b, w.size());
    dx.upload(x);
    dy.upload(y);
    dw.upload(w);
    r[i++] = xent::fit_logistic(*b, dx.data(), n, p, dy.data(), dw.data(), F, o);
  }
  for (int f = 0; f < F; ++f) {
    EXPECT_TRUE(r[1].converged[f]) << f << ": max |grad| " << r[1].grad_max[f];
    EXPECT_NEAR(r[1].objective[f], r[0].objective[f], 1e-5) << f;
  }
}

}  // namespace
