// The logistic probe's loss and gradient for F fits at once, element by element over the
// [rows][F] logits that one GEMM produced. The sums follow the op's stated order (blocks of
// kLogisticBlock rows, runs of 32 inside, each in double), which is also the kernel's, so the
// emulated kernel gives these bits and any thread count does too: threads take whole blocks.
#include <cmath>

#include "cpu/fit_sums.h"
#include "cpu/ops.h"

namespace xent::cpu {
namespace {

// One element: log(1 + e^z) = max(z, 0) + log1p(e^-|z|), and the sigmoid from the same e^-|z|,
// neither of which overflows for any z. The kernel spells the same float expression.
void logistic_term(float z, float y, float w, float* grad, float* loss) {
  const float e = std::exp(-std::fabs(z));
  const float softplus = (z > 0.0f ? z : 0.0f) + std::log1p(e);
  const float sigmoid = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
  *grad = w * (sigmoid - y);
  *loss = w * (softplus - y * z);
}

}  // namespace

void logistic_loss(const LogisticShape& s, float* logits, const float* labels, const float* weights,
                   double* loss, ThreadPool& pool) {
  fit_sums(s.rows, s.fits, loss, pool, [&](int64_t i) {
    float term = 0.0f;
    logistic_term(logits[i], labels[i], weights[i], &logits[i], &term);
    return term;
  });
}

}  // namespace xent::cpu
