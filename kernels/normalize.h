// Projection of rows onto the unit sphere, [rows][width] with rows counting every replica's
// rows (K * rows): the encoder's optional normalised output and the head's normalised W.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// y = x / max(||x||, 1e-12) per row; norms [rows] (may be null) receives the divisor. y may
// alias x. The norm is summed in double like xent::cpu::normalize_rows_forward's, in another
// order, so it can differ from the CPU's in the last bit only where a double sum rounds across
// a float rounding boundary.
void normalize_rows_forward(int64_t rows, int width, const float* x, float* y, float* norms,
                            cudaStream_t stream);
// dx = (dy - (y . dy) y) / norm per row.
void normalize_rows_backward(int64_t rows, int width, const float* y, const float* norms,
                             const float* dy, float* dx, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
