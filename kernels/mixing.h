// The frozen mixing MLP g of the data generating process, for every replica in one launch.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// x = g(z) per replica, as xent::mixing_forward (host/cpu/mixing.cpp): weights [K][layers][d][d],
// z and x [K][n][d]; bias-free layers, LeakyReLU(0.2) between them, accumulated in double.
// d from 2 to 4096 (throws InputError beyond), layers >= 1.
void mixing_forward(int K, int layers, int d, const float* weights, const float* z, int64_t n,
                    float* x, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
