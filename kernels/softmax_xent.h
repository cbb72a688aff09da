// Fused softmax cross-entropy: loss, accuracy and (optionally) the gradient in place of the
// logits, all K replicas in one pass.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// What xent::cpu::softmax_xent computes: loss[k] = mean over rows of (lse - logit[label]),
// correct[k] = rows whose first arg-max is the label (may be null), and with grad the logits
// become (softmax - onehot) / rows. A label outside [0, classes) gives that row a NaN loss (so
// the numerics guard stops the run) instead of a read out of bounds.
//
// per_row [3][K * rows] is the caller's: the log-sum-exp, the loss and the hit (0 or 1) of
// every row. The per-replica sums are taken from it in a fixed order, so results are the same
// run to run (no float atomics).
void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* per_row,
                  float* loss, float* correct, bool grad, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
