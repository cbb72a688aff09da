// Fused Adam: one launch updates every parameter of every replica (they share one flat buffer).
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// The same update as xent::cpu::adam (PyTorch semantics, no weight decay) over n parameters.
void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
          cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
