// The classification probe's loss: F binary logistic fits on the same rows in one pass over
// their [rows][F] logits.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// What xent::cpu::logistic_loss computes (include/xent/backend.h), with the same float
// expression per element (the emulated build gives its bits; a GPU's expf and log1pf differ in
// the last bits) and the same order of the double sums. table [ceil(rows / kLogisticBlock)][F]
// doubles is the caller's scratch: the blocks' sums, folded in block order by a second launch.
void logistic_loss(const LogisticShape& s, float* logits, const float* labels, const float* weights,
                   double* table, double* loss, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
