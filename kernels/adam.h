// Fused Adam: one launch updates every parameter of every replica (they share one flat buffer).
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// The same update as xent::cpu::adam (PyTorch semantics, no weight decay) over n parameters.
// With `step` (device memory), the bias corrections use *step instead of a.step, read when the
// kernel runs: a captured graph then replays with the current step.
void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
          const int64_t* step, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
