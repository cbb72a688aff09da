// kernels/multinomial_loss.cu against xent::cpu::multinomial_loss.
//
// Tolerances. Under the emulator the kernel spells the twin's float expression with the same
// libm, so gradients and per-row terms are the same bits, and the sums run in the same order:
// the losses are the same bits too. On a GPU, expf and logf differ from glibc's by an ulp or
// two: each term moves by a few float ulps of max |z| + log C, each gradient by a few ulps of w.
#include "kernel_harness.h"
//
#include <cmath>
#include <random>

#include "cpu/ops.h"
#include "kernels/multinomial_loss.h"

namespace {

using xent::test::DeviceVector;

struct Case {
  int64_t rows;
  int fits, classes;
};

TEST(MultinomialLossKernel, MatchesCpu) {
  XENT_REQUIRE_DEVICE();
  // One partial block; two blocks and a ragged fit tile; many blocks, fits across tiles.
  for (const Case c : {Case{5, 1, 3}, Case{300, 33, 5}, Case{2100, 40, 4}, Case{600, 2, 10}}) {
    SCOPED_TRACE("rows " + std::to_string(c.rows) + " fits " + std::to_string(c.fits) +
                 " classes " + std::to_string(c.classes));
    const xent::MultinomialShape s{c.rows, c.fits, c.classes};
    std::mt19937 gen(static_cast<uint32_t>(c.rows));
    std::normal_distribution<float> normal(0.0f, 5.0f);
    const size_t cells = xent::test::count(c.rows, c.fits);
    std::vector<float> z(cells * static_cast<size_t>(c.classes)), y(cells), w(cells);
    for (float& v : z) v = normal(gen);
    for (size_t i = 0; i < cells; ++i) {
      y[i] = static_cast<float>(gen() % static_cast<uint32_t>(c.classes));
      w[i] = static_cast<float>(gen() % 2);
    }
    std::vector<float> want_g = z;
    std::vector<double> want(static_cast<size_t>(c.fits));
    xent::cpu::multinomial_loss(s, want_g.data(), y.data(), w.data(), want.data());
    const int64_t blocks = (c.rows + xent::kLogisticBlock - 1) / xent::kLogisticBlock;
    DeviceVector<float> d_z(z), d_y(y), d_w(w);
    DeviceVector<double> table(xent::test::count(blocks, c.fits)), loss(want.size());
    xent::kernels::multinomial_loss(s, d_z.get(), d_y.get(), d_w.get(), table.get(), loss.get(),
                                    nullptr);
    const std::vector<float> got_g = d_z.download();
    const std::vector<double> got = loss.download();
    for (size_t i = 0; i < z.size(); ++i) {
      if (xent::test::kEmulated)
        ASSERT_EQ(xent::test::float_bits(got_g[i]), xent::test::float_bits(want_g[i])) << i;
      else
        ASSERT_NEAR(got_g[i], want_g[i], 8 * xent::test::kEpsFloat * w[i / c.classes] + 1e-30) << i;
    }
    for (int f = 0; f < c.fits; ++f) {
      double bound = 0.0;
      for (int64_t r = 0; r < c.rows; ++r) {
        const size_t i = static_cast<size_t>(r) * c.fits + f;
        double amax = 0.0;
        for (int k = 0; k < c.classes; ++k)
          amax = std::max(amax, std::fabs(static_cast<double>(z[i * c.classes + k])));
        bound += 8 * xent::test::kEpsFloat * w[i] * (2 * amax + std::log(double(c.classes)));
      }
      if (xent::test::kEmulated)
        EXPECT_EQ(got[f], want[f]) << "fit " << f;
      else
        EXPECT_NEAR(got[f], want[f], bound) << "fit " << f;
    }
  }
}

}  // namespace
