// The multinomial probe's loss and gradient for F fits of C classes at once, row by row over
// the [rows][F][C] logits that one GEMM produced. The sums follow the op's stated order (blocks
// of kLogisticBlock rows, runs of 32 inside, each in double), logistic_loss's and the kernel's,
// so the emulated kernel gives these bits and any thread count does too: threads take whole
// blocks.
#include <cmath>

#include "cpu/fit_sums.h"
#include "cpu/ops.h"

namespace xent::cpu {
namespace {

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
  const auto C = static_cast<int>(s.classes);
  fit_sums(s.rows, s.fits, loss, pool,
           [&](int64_t i) { return multinomial_term(logits + i * C, C, labels[i], weights[i]); });
}

}  // namespace xent::cpu
