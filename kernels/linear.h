// The linear layer's non-GEMM parts, for a backend that leaves the products to cuBLAS (the CUDA
// backend, host/cuda/): the bias add after the forward GEMM and the bias gradient beside the
// backward ones. Every replica of the population in the same launch.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// y [K][rows][out] += b [K][out]: the rounding of xent::cpu::linear_forward, which adds the
// bias to the finished product in float.
void linear_add_bias(const LinearShape& s, const float* b, float* y, cudaStream_t stream);

// db [K][out] = column sums of dy [K][rows][out], summed in double in a fixed order and rounded
// once, like xent::cpu::linear_backward's. Deterministic run to run.
void linear_bias_grad(const LinearShape& s, const float* dy, float* db, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
