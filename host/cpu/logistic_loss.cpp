// The logistic probe's loss and gradient for F fits at once, element by element over the
// [rows][F] logits that one GEMM produced. The sums follow the op's stated order (blocks of
// kLogisticBlock rows, runs of 32 inside, each in double), which is also the kernel's, so the
// emulated kernel gives these bits and any thread count does too: threads take whole blocks.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/ops.h"

namespace xent::cpu {
namespace {

constexpr int64_t kRun = 32;

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
  const int64_t n = s.rows, F = s.fits;
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
            float term = 0.0f;
            logistic_term(logits[i], labels[i], weights[i], &logits[i], &term);
            run[f] += static_cast<double>(term);
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
