// The multinomial probe's loss and gradient for F fits of C classes at once, row by row over
// the [rows][F][C] logits that one GEMM produced. The sums follow the op's stated order (blocks
// of kLogisticBlock rows, runs of 32 inside, each in double), logistic_loss's and the kernel's,
// so the emulated kernel gives these bits and any thread count does too: threads take whole
// blocks.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/ops.h"

namespace xent::cpu {
namespace {

constexpr int64_t kRun = 32;

// One row of one fit, z [C] in place: m = max z, s = sum e^(z - m) in class order, the loss
// w ((m - z_y) + log s) and the gradient w (e^(z - m) / s - [c = y]). Nothing overflows: every
// exponent is <= 0 and s >= 1. The kernel spells the same float expression.
float multinomial_term(float* z, int C, float label, float w) {
  const int y = static_cast<int>(label);
  float m = z[0];
  for (int c = 1; c < C; ++c) m = z[c] > m ? z[c] : m;
  float s = 0.0f;
  for (int c = 0; c < C; ++c) s += std::exp(z[c] - m);
  const float loss = w * ((m - z[y]) + std::log(s));
  for (int c = 0; c < C; ++c) z[c] = w * (std::exp(z[c] - m) / s - (c == y ? 1.0f : 0.0f));
  return loss;
}

}  // namespace

void multinomial_loss(const MultinomialShape& s, float* logits, const float* labels,
                      const float* weights, double* loss, ThreadPool& pool) {
  const int64_t n = s.rows, F = s.fits, C = s.classes;
  const int64_t blocks = (n + kLogisticBlock - 1) / kLogisticBlock;
  std::vector<double> table(static_cast<size_t>(blocks * F));
  pool.run(blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> run(static_cast<size_t>(F));
    for (int64_t b = b0; b < b1; ++b) {
      double* block = table.data() + b * F;
      for (int64_t r0 = b * kLogisticBlock; r0 < std::min(n, (b + 1) * kLogisticBlock);
           r0 += kRun) {
        std::fill(run.begin(), run.end(), 0.0);
        for (int64_t r = r0; r < std::min(n, r0 + kRun); ++r)
          for (int64_t f = 0; f < F; ++f) {
            const int64_t i = r * F + f;
            run[f] += static_cast<double>(
                multinomial_term(logits + i * C, static_cast<int>(C), labels[i], weights[i]));
          }
        for (int64_t f = 0; f < F; ++f) block[f] += run[f];
      }
    }
  });
  for (int64_t f = 0; f < F; ++f) {
    double sum = 0.0;
    for (int64_t b = 0; b < blocks; ++b) sum += table[b * F + f];
    loss[f] = sum;
  }
}

}  // namespace xent::cpu
