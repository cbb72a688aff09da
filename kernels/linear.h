// The linear layer's GEMMs: one tiled SGEMM, instantiated for the three operand layouts a
// layer needs, plus a deterministic column sum for the bias gradient. Every replica of the
// population in the same launch (blockIdx.z = replica).
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// y = x W^T + b, as xent::cpu::linear_forward: x [K][rows][in], W [K][out][in], b [K][out]
// (may be null), y [K][rows][out]. The bias is added in the GEMM's epilogue.
void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y,
                    cudaStream_t stream);

// As xent::cpu::linear_backward: dx = dy W [K][rows][in] (skipped when dx is null),
// dW = dy^T x [K][out][in], db = column sums of dy [K][out] (skipped when db is null, summed in
// double in a fixed order, like the CPU twin). Deterministic run to run.
void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                     float* dx, float* dw, float* db, cudaStream_t stream);

// The two non-GEMM parts on their own, for a backend that leaves the products to cuBLAS:
// y [K][rows][out] += b [K][out] (the rounding linear_forward's epilogue does), and db [K][out]
// = column sums of dy, as linear_backward computes them.
void linear_add_bias(const LinearShape& s, const float* b, float* y, cudaStream_t stream);
void linear_bias_grad(const LinearShape& s, const float* dy, float* db, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
