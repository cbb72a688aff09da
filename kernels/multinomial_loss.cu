// The multinomial probe's loss and gradient. Block (32 fits, 8 runs), as logistic_loss: a warp
// walks one run of 32 rows, its lanes across 32 consecutive fits, each lane taking its fit's C
// logits of a row and summing the fit's terms in double; warp 0 adds the 8 runs in order into
// the block's row of the table, and a second launch adds the blocks in order. That is the CPU
// twin's order exactly. A lane reads C consecutive floats, so a warp reads 32 C contiguous
// floats of a row per class pass: one row's logits of the 32 fits.
#include "compat.cuh"
//
#include <cstdint>

#include "check.cuh"
#include "multinomial_loss.h"

namespace xent::kernels {
namespace {

constexpr int kFits = 32;  // lanes: fits per block
constexpr int kRuns = 8;   // warps: runs of kRun rows per block
constexpr int kRun = 32;
static_assert(int64_t{kRuns} * kRun == kLogisticBlock, "a block is the op's block of rows");

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
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int64_t n = s.rows, F = s.fits;
  const int C = s.classes;
  const int64_t f = int64_t{blockIdx.x} * kFits + tx;
  const int64_t b = blockIdx.y;
  const int64_t r0 = b * kLogisticBlock + int64_t{ty} * kRun;
  const int64_t r1 = r0 + kRun < n ? r0 + kRun : n;
  double run = 0.0;
  if (f < F)
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t i = r * F + f;
      run += static_cast<double>(term(logits + i * C, C, labels[i], weights[i]));
    }
  runs[ty][tx] = run;
  __syncthreads();
  if (ty == 0 && f < F) {
    double block = 0.0;
    for (int j = 0; j < kRuns && b * kLogisticBlock + int64_t{j} * kRun < n; ++j)
      block += runs[j][tx];
    table[b * F + f] = block;
  }
}

constexpr int kFoldThreads = 128;

// loss[f] = the sum of table[.][f] over the blocks, in block order.
__global__ void multinomial_fold(int64_t blocks, int64_t F, const double* table, double* loss) {
  const int64_t f = int64_t{blockIdx.x} * kFoldThreads + threadIdx.x;
  if (f >= F) return;
  double sum = 0.0;
  for (int64_t b = 0; b < blocks; ++b) sum += table[b * F + f];
  loss[f] = sum;
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void multinomial_loss(const MultinomialShape& s, float* logits, const float* labels,
                      const float* weights, double* table, double* loss, cudaStream_t stream) {
  if (s.fits <= 0) return;
  const int64_t blocks = (s.rows + kLogisticBlock - 1) / kLogisticBlock;
  if (blocks > 65535) throw DeviceError("multinomial_loss: more than 65535 x 256 rows");
  if (blocks > 0) {
    launch(multinomial_blocks,
           dim3(static_cast<unsigned>((s.fits + kFits - 1) / kFits), static_cast<unsigned>(blocks)),
           dim3(kFits, kRuns), 0, stream)(s, logits, labels, weights, table);
    check_launch("multinomial_blocks");
  }
  launch(multinomial_fold, dim3(static_cast<unsigned>((s.fits + kFoldThreads - 1) / kFoldThreads)),
         dim3(kFoldThreads), 0, stream)(blocks, int64_t{s.fits}, table, loss);
  check_launch("multinomial_fold");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
