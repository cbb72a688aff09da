// The classification probe's loss for targets of more than two classes: F softmax fits of C
// classes on the same rows in one pass over their [rows][F][C] logits.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// What xent::cpu::multinomial_loss computes (include/xent/backend.h), with the same float
// expression per row and fit (the emulated build gives its bits; a GPU's expf and logf differ
// in the last bits) and the same order of the double sums. table
// [ceil(rows / kLogisticBlock)][F] doubles is the caller's scratch: the blocks' sums, folded in
// block order by a second launch.
void multinomial_loss(const MultinomialShape& s, float* logits, const float* labels,
                      const float* weights, double* table, double* loss, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
