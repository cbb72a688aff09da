// The multinomial probe's loss and gradient: one term per row and fit, summed in the CPU twin's
// order by kernels/fit_sums.cuh (blocks of 32 fits x 8 runs of 32 rows, then a fold), as
// logistic_loss's. A lane takes its fit's C consecutive logits of a row, so a warp reads 32 C
// contiguous floats per class pass: one row's logits of the 32 fits.
#include "compat.cuh"
//
#include <cstdint>

#include "fit_sums.cuh"
#include "multinomial_loss.h"

namespace xent::kernels {
namespace {

// host/cpu/multinomial_loss.cpp's multinomial_term.
__device__ __forceinline__ float term(float* z, int C, float label, float w) {
  const int y = static_cast<int>(label);
  float m = z[0];
  for (int c = 1; c < C; ++c) m = z[c] > m ? z[c] : m;
  float s = 0.0f;
  for (int c = 0; c < C; ++c) s += expf(z[c] - m);
  const float loss = w * ((m - z[y]) + logf(s));
  for (int c = 0; c < C; ++c) z[c] = w * (expf(z[c] - m) / s - (c == y ? 1.0f : 0.0f));
  return loss;
}

// grid (fit tiles, row blocks), block (kFits, kRuns).
__global__ void __launch_bounds__(kFits* kRuns)
    multinomial_blocks(MultinomialShape s, float* logits, const float* labels, const float* weights,
                       double* table) {
  __shared__ double runs[kRuns][kFits];
  const int C = s.classes;
  block_sums(s.rows, s.fits, runs, table,
             [&](int64_t i) { return term(logits + i * C, C, labels[i], weights[i]); });
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void multinomial_loss(const MultinomialShape& s, float* logits, const float* labels,
                      const float* weights, double* table, double* loss, cudaStream_t stream) {
  launch_fit_sums("multinomial_loss", s.rows, s.fits, multinomial_blocks, table, loss, stream, s,
                  logits, labels, weights, table);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
