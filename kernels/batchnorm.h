// BatchNorm1d fused with LeakyReLU over K replicas: h and a are [K][rows][width], every
// per-column vector (gamma, beta, mean, rstd, running statistics, dgamma, dbeta) is [K][width].
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// Columns per block of the train and backward kernels: kAuto takes 32 where that already gives
// every SM a block and 8 otherwise (a K = 1 grid, see batchnorm.cu); the others force a width,
// for the tests and the benchmarks. The results are the same bits for every choice.
enum class BatchNormBlocks { kAuto, kColumns32, kColumns8 };

// The same results as the xent::cpu ops of the same names, bit for bit under the emulator, dbias
// aside: the column sums follow the CPU's order (runs of 32 rows in float, folded into double in
// row order) and no product is fused into the add that follows it. On a GPU that holds by
// construction too, but its tests allow for a product rounded once more or less
// (tests/batchnorm_kernel_test.cpp). bias (may be null) is the linear layer's, folded into the
// reads of h; dbias (may be null) its gradient, a double column sum in another order than the
// CPU's (see batchnorm.cu).
void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* bias,
                                 const float* gamma, const float* beta, float* a, float* mean,
                                 float* rstd, float* running_mean, float* running_var,
                                 cudaStream_t stream,
                                 BatchNormBlocks blocks = BatchNormBlocks::kAuto);
void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* bias,
                                const float* gamma, const float* beta, const float* running_mean,
                                const float* running_var, float* a, cudaStream_t stream);
void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* bias,
                            const float* a, const float* gamma, const float* mean,
                            const float* rstd, const float* da, float* dh, float* dbias,
                            float* dgamma, float* dbeta, cudaStream_t stream,
                            BatchNormBlocks blocks = BatchNormBlocks::kAuto);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
