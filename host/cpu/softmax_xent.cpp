// Softmax cross-entropy, forward and backward in one pass over each row: the gradient
// overwrites the logits, so probabilities are never stored.
#include <cmath>

#include "cpu/ops.h"

namespace xent::cpu {

void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* loss,
                  float* correct, bool grad) {
  const int64_t n = s.rows;
  const int64_t c = s.classes;
  for (int k = 0; k < s.K; ++k) {
    double total = 0.0;
    int64_t hits = 0;
    for (int64_t r = 0; r < n; ++r) {
      float* row = logits + (k * n + r) * c;
      const int32_t y = labels[k * n + r];
      int64_t arg = 0;
      for (int64_t j = 1; j < c; ++j)
        if (row[j] > row[arg]) arg = j;
      const float mx = row[arg];
      double sum = 0.0;
      for (int64_t j = 0; j < c; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
      const double lse = mx + std::log(sum);
      total += lse - row[y];
      hits += arg == y;
      if (!grad) continue;
      const double inv_n = 1.0 / static_cast<double>(n);
      for (int64_t j = 0; j < c; ++j) {
        const double p = std::exp(row[j] - lse);
        row[j] = static_cast<float>((p - (j == y ? 1.0 : 0.0)) * inv_n);
      }
    }
    loss[k] = static_cast<float>(total / static_cast<double>(n));
    if (correct) correct[k] = static_cast<float>(hits);
  }
}

}  // namespace xent::cpu
