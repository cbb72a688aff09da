#include <cmath>

#include "cpu/ops.h"
#include "cpu/vector_clones.h"

namespace xent::cpu {
namespace {

// Restrict pointers: the caller's buffers never overlap, and without the promise the compiler
// would not vectorise the update.
XENT_VECTOR_CLONES void adam_update(int64_t n, float* __restrict param,
                                    const float* __restrict grad, float* __restrict m,
                                    float* __restrict v, float beta1, float beta2, float eps,
                                    float step_size, float bc2_sqrt) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] = beta1 * m[i] + (1.0f - beta1) * grad[i];
    v[i] = beta2 * v[i] + (1.0f - beta2) * grad[i] * grad[i];
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
  }
}

}  // namespace

AdamCorrection adam_correction(const AdamParams& a, int64_t t) {
  const auto ft = static_cast<float>(t);
  // PyTorch's form: the bias corrections scale the step, eps is added to sqrt(v_hat).
  const float bc1 = 1.0f - std::pow(a.beta1, ft);
  const float bc2 = 1.0f - std::pow(a.beta2, ft);
  return {a.lr / bc1, std::sqrt(bc2)};
}

void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
          const int64_t* step, ThreadPool& pool) {
  const AdamCorrection c = adam_correction(a, step ? *step : a.step);
  // Elements are independent: threads take blocks of at least kGrain (~10 us of updates).
  constexpr int64_t kGrain = 16384;
  pool.run(n, kGrain, [&](int64_t b, int64_t e) {
    adam_update(e - b, param + b, grad + b, m + b, v + b, a.beta1, a.beta2, a.eps, c.step_size,
                c.bc2_sqrt);
  });
}

}  // namespace xent::cpu
