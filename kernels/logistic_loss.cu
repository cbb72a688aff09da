// The logistic probe's loss and gradient. Block (32 fits, 8 runs): a warp walks one run of 32
// rows, its lanes across 32 consecutive fits (coalesced: a row's fits are contiguous), summing
// each fit's terms in double; warp 0 adds the 8 runs in order into the block's row of the
// table, and a second launch adds the blocks in order. That is the CPU twin's order exactly.
#include "compat.cuh"
//
#include <cstdint>

#include "check.cuh"
#include "logistic_loss.h"

namespace xent::kernels {
namespace {

constexpr int kFits = 32;  // lanes: fits per block
constexpr int kRuns = 8;   // warps: runs of kRun rows per block
constexpr int kRun = 32;
static_assert(int64_t{kRuns} * kRun == kLogisticBlock, "a block is the op's block of rows");

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
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int64_t n = s.rows, F = s.fits;
  const int64_t f = int64_t{blockIdx.x} * kFits + tx;
  const int64_t b = blockIdx.y;
  const int64_t r0 = b * kLogisticBlock + int64_t{ty} * kRun;
  const int64_t r1 = r0 + kRun < n ? r0 + kRun : n;
  double run = 0.0;
  if (f < F)
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t i = r * F + f;
      float loss = 0.0f;
      term(logits[i], labels[i], weights[i], &logits[i], &loss);
      run += static_cast<double>(loss);
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
__global__ void logistic_fold(int64_t blocks, int64_t F, const double* table, double* loss) {
  const int64_t f = int64_t{blockIdx.x} * kFoldThreads + threadIdx.x;
  if (f >= F) return;
  double sum = 0.0;
  for (int64_t b = 0; b < blocks; ++b) sum += table[b * F + f];
  loss[f] = sum;
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void logistic_loss(const LogisticShape& s, float* logits, const float* labels, const float* weights,
                   double* table, double* loss, cudaStream_t stream) {
  if (s.fits <= 0) return;
  const int64_t blocks = (s.rows + kLogisticBlock - 1) / kLogisticBlock;
  if (blocks > 65535) throw DeviceError("logistic_loss: more than 65535 x 256 rows");
  if (blocks > 0) {
    launch(logistic_blocks,
           dim3(static_cast<unsigned>((s.fits + kFits - 1) / kFits), static_cast<unsigned>(blocks)),
           dim3(kFits, kRuns), 0, stream)(s, logits, labels, weights, table);
    check_launch("logistic_blocks");
  }
  launch(logistic_fold, dim3(static_cast<unsigned>((s.fits + kFoldThreads - 1) / kFoldThreads)),
         dim3(kFoldThreads), 0, stream)(blocks, int64_t{s.fits}, table, loss);
  check_launch("logistic_fold");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
