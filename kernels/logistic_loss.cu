// The logistic probe's loss and gradient: one element per row and fit, summed in the CPU twin's
// order by kernels/fit_sums.cuh (blocks of 32 fits x 8 runs of 32 rows, then a fold).
#include "compat.cuh"
//
#include <cstdint>

#include "fit_sums.cuh"
#include "logistic_loss.h"

namespace xent::kernels {
namespace {

// host/cpu/logistic_loss.cpp's logistic_term.
__device__ __forceinline__ void term(float z, float y, float w, float* grad, float* loss) {
  const float e = expf(-fabsf(z));
  const float softplus = (z > 0.0f ? z : 0.0f) + log1pf(e);
  const float sigmoid = z >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
  *grad = w * (sigmoid - y);
  *loss = w * (softplus - y * z);
}

// grid (fit tiles, row blocks), block (kFits, kRuns).
__global__ void __launch_bounds__(kFits* kRuns)
    logistic_blocks(LogisticShape s, float* logits, const float* labels, const float* weights,
                    double* table) {
  __shared__ double runs[kRuns][kFits];
  block_sums(s.rows, s.fits, runs, table, [&](int64_t i) {
    float loss = 0.0f;
    term(logits[i], labels[i], weights[i], &logits[i], &loss);
    return loss;
  });
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void logistic_loss(const LogisticShape& s, float* logits, const float* labels, const float* weights,
                   double* table, double* loss, cudaStream_t stream) {
  launch_fit_sums("logistic_loss", s.rows, s.fits, logistic_blocks, table, loss, stream, s, logits,
                  labels, weights, table);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
