// The linear layer's two non-GEMM parts, around the products the CUDA backend leaves to cuBLAS
// (host/cuda/blas_cublas.cpp; OpenBLAS under the emulator): the bias add, one float addition
// per element in a grid-stride loop, and the bias gradient, a column sum over the batch rows in
// double like the CPU twin, reduced in a fixed order inside one block per 32 columns.
#include "compat.cuh"
//
#include <cstdint>

#include "check.cuh"
#include "grid.cuh"
#include "linear.h"

namespace xent::kernels {
namespace {

constexpr int kSumColumns = 32;  // one warp across consecutive columns: coalesced rows
constexpr int kSumGroups = 8;    // row groups per block, combined in a fixed order

// db[z][o] = sum_r dy[z][r][o]. grid: x = tiles of 32 columns, y = replicas.
__global__ void __launch_bounds__(kSumColumns* kSumGroups)
    column_sums(int64_t rows, int cols, const float* dy, float* db) {
  __shared__ double partial[kSumGroups][kSumColumns];
  const int lane = static_cast<int>(threadIdx.x) % kSumColumns;
  const int group = static_cast<int>(threadIdx.x) / kSumColumns;
  const int64_t col = int64_t{blockIdx.x} * kSumColumns + lane;
  const float* src = dy + int64_t{blockIdx.y} * rows * cols;
  double sum = 0.0;
  if (col < cols)
    for (int64_t r = group; r < rows; r += kSumGroups)
      sum += static_cast<double>(src[r * cols + col]);
  partial[group][lane] = sum;
  __syncthreads();
  if (group == 0 && col < cols) {
    for (int j = 1; j < kSumGroups; ++j) sum += partial[j][lane];
    db[int64_t{blockIdx.y} * cols + col] = static_cast<float>(sum);
  }
}

constexpr int kThreads = 256;  // the bias add's blocks

// y[z][r][o] += b[z][o] over the flattened [K][rows][out] array, grid-stride.
__global__ void add_bias(int64_t total, int64_t per_replica, int out, const float* b, float* y) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x)
    y[i] += b[i / per_replica * out + i % out];
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void linear_add_bias(const LinearShape& s, const float* b, float* y, cudaStream_t stream) {
  const int64_t per_replica = s.rows * s.out, total = per_replica * s.K;
  if (total <= 0) return;
  launch(add_bias, dim3(stride_blocks(total, kThreads)), dim3(kThreads), 0, stream)(
      total, per_replica, s.out, b, y);
  check_launch("linear_add_bias");
}

void linear_bias_grad(const LinearShape& s, const float* dy, float* db, cudaStream_t stream) {
  if (s.out <= 0 || s.K <= 0) return;
  if (s.K > 65535) throw DeviceError("linear_bias_grad: too many replicas for one launch");
  const auto blocks = static_cast<unsigned>((s.out + kSumColumns - 1) / kSumColumns);
  launch(column_sums, dim3(blocks, static_cast<unsigned>(s.K)), dim3(kSumColumns * kSumGroups), 0,
         stream)(s.rows, s.out, dy, db);
  check_launch("linear_bias_grad (column sums)");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
