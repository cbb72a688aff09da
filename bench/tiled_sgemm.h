// The tiled SGEMM that xent_gpu_bench compares cuBLAS to (bench/tiled_sgemm.cu), as the linear
// layer's forward and backward. Not part of the engine: the CUDA backend runs its GEMMs through
// cuBLAS. Every replica of the population in the same launch (blockIdx.z = replica).
#pragma once
#include "kernels/api.h"

namespace xent::bench {
inline namespace XENT_KERNELS_ABI {

// y = x W^T + b, as xent::cpu::linear_forward: x [K][rows][in], W [K][out][in], b [K][out]
// (may be null), y [K][rows][out]. The bias is added in the GEMM's epilogue.
void tiled_linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                          float* y, cudaStream_t stream);

// As xent::cpu::linear_backward: dx = dy W [K][rows][in] (skipped when dx is null),
// dW = dy^T x [K][out][in], db = column sums of dy [K][out] (skipped when db is null; the
// backend's kernels::linear_bias_grad). Deterministic run to run.
void tiled_linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                           float* dx, float* dw, float* db, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::bench
