#include <cmath>

#include "cpu/ops.h"

namespace xent::cpu {

void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a) {
  // PyTorch's form: the bias corrections scale the step, eps is added to sqrt(v_hat).
  const float bc1 = 1.0f - std::pow(a.beta1, static_cast<float>(a.step));
  const float bc2 = 1.0f - std::pow(a.beta2, static_cast<float>(a.step));
  const float step_size = a.lr / bc1;
  const float bc2_sqrt = std::sqrt(bc2);
  for (int64_t i = 0; i < n; ++i) {
    m[i] = a.beta1 * m[i] + (1.0f - a.beta1) * grad[i];
    v[i] = a.beta2 * v[i] + (1.0f - a.beta2) * grad[i] * grad[i];
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + a.eps);
  }
}

}  // namespace xent::cpu
