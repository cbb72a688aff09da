// The probe fits' loss sums (logistic_loss, multinomial_loss) in their CPU twins' order
// (host/cpu/fit_sums.h). Block (kFits lanes, kRuns warps) over a tile of 32 consecutive fits and
// a block of kLogisticBlock rows: a warp walks one run of kRun rows, each lane summing its fit's
// terms in double (a row's fits are contiguous, so a warp's reads are coalesced); warp 0 adds
// the block's runs in order into the block's row of the table, and a second launch adds the
// table's rows in block order. Included by kernels/*.cu after compat.cuh; everything here is
// internal to the including file, so that the nvcc and the emulated builds never share a copy.
#pragma once
#include <cstdint>
#include <string>

#include "check.cuh"

namespace xent::kernels {
namespace {

constexpr int kFits = 32;  // lanes: fits per block
constexpr int kRuns = 8;   // warps: runs of kRun rows per block
constexpr int kRun = 32;
static_assert(int64_t{kRuns} * kRun == kLogisticBlock, "a block is the ops' block of rows");
constexpr int kFoldThreads = 128;

// Stage one, by every thread of a block of the grid (fit tiles, row blocks): table[b][f] = the
// sum of term(r * F + f) (a float) over block b's rows r < n. runs is the kernel's
// __shared__ double[kRuns][kFits].
template <typename Term>
__device__ __forceinline__ void block_sums(int64_t n, int64_t F, double (*runs)[kFits],
                                           double* table, Term term) {
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int64_t f = int64_t{blockIdx.x} * kFits + tx;
  const int64_t b = blockIdx.y;
  const int64_t r0 = b * kLogisticBlock + int64_t{ty} * kRun;
  const int64_t r1 = r0 + kRun < n ? r0 + kRun : n;
  double run = 0.0;
  if (f < F)
    for (int64_t r = r0; r < r1; ++r) run += static_cast<double>(term(r * F + f));
  runs[ty][tx] = run;
  __syncthreads();
  if (ty == 0 && f < F) {
    double block = 0.0;
    for (int j = 0; j < kRuns && b * kLogisticBlock + int64_t{j} * kRun < n; ++j)
      block += runs[j][tx];
    table[b * F + f] = block;
  }
}

// loss[f] = the sum of table[.][f] over the blocks, in block order.
__global__ void fold_fit_sums(int64_t blocks, int64_t F, const double* table, double* loss) {
  const int64_t f = int64_t{blockIdx.x} * kFoldThreads + threadIdx.x;
  if (f >= F) return;
  double sum = 0.0;
  for (int64_t b = 0; b < blocks; ++b) sum += table[b * F + f];
  loss[f] = sum;
}

// Launches `blocks_kernel` (which calls block_sums) on the grid (fit tiles, row blocks) with
// `args`, then the fold of its table into loss. `name` names both in errors.
template <typename... Params, typename... Args>
void launch_fit_sums(const char* name, int64_t rows, int64_t fits, void (*blocks_kernel)(Params...),
                     double* table, double* loss, cudaStream_t stream, Args... args) {
  if (fits <= 0) return;
  const int64_t blocks = (rows + kLogisticBlock - 1) / kLogisticBlock;
  if (blocks > 65535) throw DeviceError(std::string(name) + ": more than 65535 x 256 rows");
  if (blocks > 0) {
    launch(blocks_kernel,
           dim3(static_cast<unsigned>((fits + kFits - 1) / kFits), static_cast<unsigned>(blocks)),
           dim3(kFits, kRuns), 0, stream)(args...);
    check_launch(name);
  }
  launch(fold_fit_sums, dim3(static_cast<unsigned>((fits + kFoldThreads - 1) / kFoldThreads)),
         dim3(kFoldThreads), 0, stream)(blocks, fits, table, loss);
  check_launch(name);
}

}  // namespace
}  // namespace xent::kernels
