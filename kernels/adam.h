// Fused Adam: one launch updates every parameter of every replica (they share one flat buffer).
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// The bias corrections the kernel uses, computed on the host by the CPU twin's expressions
// (cpu::adam_correction), so that both backends round alike whatever the device's powf does.
// Without `step`, `now` is used. With `step` (device memory, read when the kernel runs, so that
// a captured graph replays with the current step t = *step): table[t - 1] for t <= steps, and
// table[steps - 1] beyond when `saturated` (both corrections are exactly lr and 1 from there on).
// Past an unsaturated table the kernel computes them itself with the device's powf: only a
// beta2 within about 1e-5 of 1 gets there, since a table saturates within about 18 / (1 - beta2)
// steps.
struct AdamCorrections {
  AdamCorrection now{};
  const int64_t* step = nullptr;
  const AdamCorrection* table = nullptr;
  int64_t steps = 0;
  bool saturated = false;
};

// The same update as xent::cpu::adam (PyTorch semantics, no weight decay) over n parameters.
void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
          const AdamCorrections& c, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
