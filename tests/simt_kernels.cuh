// Kernels that test the SIMT emulator (tests/simt_test.cpp runs them under g++) and prove that
// kernels/compat.cuh serves nvcc too (tests/simt_kernels.cu compiles them for sm_90). Some are
// wrong on purpose: the emulator must catch them.
#pragma once
#include "../kernels/compat.cuh"
#include "../kernels/curand.cuh"

namespace simt_test {

constexpr unsigned kFull = 0xffffffffu;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(kFull, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(kFull, v, offset));
  return v;
}

// The usual two-level block reduction: warps reduce by shuffles, warp 0 reduces the warps'
// partials. Every thread returns the total. blockDim.x must be a multiple of 32. The caller
// must not touch `partial` again before another __syncthreads: the reads of partial[0] below
// race with any later write.
__device__ __forceinline__ float block_sum(float v, float* partial) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int warp = static_cast<int>(threadIdx.x / 32);
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = static_cast<int>(blockDim.x / 32);
    v = warp_sum(lane < warps ? partial[lane] : 0.0f);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

__device__ __forceinline__ float block_max(float v, float* partial) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int warp = static_cast<int>(threadIdx.x / 32);
  v = warp_max(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int warps = static_cast<int>(blockDim.x / 32);
    v = warp_max(lane < warps ? partial[lane] : -INFINITY);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  return partial[0];
}

// Tree reduction in dynamic shared memory for any block size (not only powers of two), over a
// grid-stride loop: out[blockIdx.x] = the block's share of sum(x).
__global__ void tree_sum(const float* x, int n, float* out) {
  XENT_DYNAMIC_SHARED(float, s);
  const unsigned t = threadIdx.x;
  float acc = 0.0f;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + t); i < n;
       i += static_cast<int>(gridDim.x * blockDim.x)) {
    acc += x[i];
  }
  s[t] = acc;
  __syncthreads();
  for (unsigned stride = 1; stride < blockDim.x; stride *= 2) {
    if (t % (2 * stride) == 0 && t + stride < blockDim.x) s[t] += s[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// 3-D blocks: each thread writes its linear id and coordinates, and the block's shuffle-based
// sum of the linear ids, so that index mapping and 1024-thread barriers are checked at once.
__global__ void block_ids(unsigned* ids, float* sums) {
  __shared__ float partial[32];
  const unsigned linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned* mine = ids + 4 * (block * threads + linear);
  mine[0] = linear;
  mine[1] = threadIdx.x;
  mine[2] = threadIdx.y;
  mine[3] = threadIdx.z;
  // block_sum wants blockDim.x % 32 == 0 along x only: here warps follow the linear id, which
  // is what CUDA does, so reduce over the linear numbering by hand.
  const int lane = static_cast<int>(linear % 32);
  const int warp = static_cast<int>(linear / 32);
  float v = warp_sum(static_cast<float>(linear));
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = warp_sum(lane < static_cast<int>(threads / 32) ? partial[lane] : 0.0f);
    if (lane == 0) sums[block] = v;
  }
}

// Every shuffle kind at every width, on a value that names its lane: out[(case * 32) + lane].
// Cases: idx, up, down, xor, each for widths 32, 16, 8, 4, 2 (operands chosen per width).
__global__ void shuffles(float* f_out, int* i_out, unsigned* u_out, double* d_out) {
  const int lane = static_cast<int>(threadIdx.x);
  const float fv = 100.0f + static_cast<float>(lane);
  const int iv = -1000 - lane;
  const unsigned uv = 0x80000000u + static_cast<unsigned>(lane);
  const double dv = 1e10 + lane;
  int c = 0;
  for (int width = 32; width >= 2; width /= 2) {
    const int src = (3 * width) / 4 + 1;  // beyond the segment for width 2: wraps modulo width
    const unsigned delta = static_cast<unsigned>(width / 4 + 1);
    const int lane_mask = width / 2;
    f_out[c * 32 + lane] = __shfl_sync(kFull, fv, src, width);
    i_out[c * 32 + lane] = __shfl_sync(kFull, iv, src, width);
    u_out[c * 32 + lane] = __shfl_sync(kFull, uv, src, width);
    d_out[c * 32 + lane] = __shfl_sync(kFull, dv, src, width);
    ++c;
    f_out[c * 32 + lane] = __shfl_up_sync(kFull, fv, delta, width);
    i_out[c * 32 + lane] = __shfl_up_sync(kFull, iv, delta, width);
    u_out[c * 32 + lane] = __shfl_up_sync(kFull, uv, delta, width);
    d_out[c * 32 + lane] = __shfl_up_sync(kFull, dv, delta, width);
    ++c;
    f_out[c * 32 + lane] = __shfl_down_sync(kFull, fv, delta, width);
    i_out[c * 32 + lane] = __shfl_down_sync(kFull, iv, delta, width);
    u_out[c * 32 + lane] = __shfl_down_sync(kFull, uv, delta, width);
    d_out[c * 32 + lane] = __shfl_down_sync(kFull, dv, delta, width);
    ++c;
    f_out[c * 32 + lane] = __shfl_xor_sync(kFull, fv, lane_mask, width);
    i_out[c * 32 + lane] = __shfl_xor_sync(kFull, iv, lane_mask, width);
    u_out[c * 32 + lane] = __shfl_xor_sync(kFull, uv, lane_mask, width);
    d_out[c * 32 + lane] = __shfl_xor_sync(kFull, dv, lane_mask, width);
    ++c;
  }
}

// Votes with full and partial masks; the block has 40 threads, so warp 1 has 8 lanes and its
// full-mask votes see only those. out[thread * 8 + k].
__global__ void votes(unsigned* out) {
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  unsigned* mine = out + t * 8;
  mine[0] = __ballot_sync(kFull, lane % 3 == 0);
  mine[1] = static_cast<unsigned>(__any_sync(kFull, lane == 5));
  mine[2] = static_cast<unsigned>(__all_sync(kFull, lane < 40));
  mine[3] = static_cast<unsigned>(__all_sync(kFull, lane != 7));
  mine[4] = __activemask();
  if (lane < 16) {
    mine[5] = __ballot_sync(0x0000ffffu, lane >= 12);
  } else {
    mine[5] = __ballot_sync(0xffff0000u, lane >= 28);  // disjoint masks may vote side by side
  }
  mine[6] = static_cast<unsigned>(__syncthreads_count(t % 4 == 0));
  mine[7] = __reduce_add_sync(__activemask(), lane);
}

// Atomics from every thread of every block, so that blocks on different workers contend.
struct AtomicTotals {
  int count;
  unsigned ucount;
  unsigned long long big;
  float fsum;
  double dsum;
  int imax;
  int imin;
  unsigned cas_count;
  int exch;
};

__global__ void atomics(AtomicTotals* totals) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  atomicAdd(&totals->count, 1);
  atomicAdd(&totals->ucount, 2u);
  atomicAdd(&totals->big, 1ull << 33);
  atomicAdd(&totals->fsum, static_cast<float>(i % 8));
  atomicAdd(&totals->dsum, 0.5);
  atomicMax(&totals->imax, i);
  atomicMin(&totals->imin, -i);
  // An increment built from compare-and-swap, retried until it lands. The first guess is 0,
  // not a plain read of the counter, which would race with the other threads' swaps.
  unsigned seen = 0;
  for (;;) {
    const unsigned prev = atomicCAS(&totals->cas_count, seen, seen + 1);
    if (prev == seen) break;
    seen = prev;
  }
  atomicExch(&totals->exch, 7);
}

// Reads dynamic shared memory nobody wrote.
__global__ void read_fresh_shared(float* out) {
  XENT_DYNAMIC_SHARED(float, s);
  out[threadIdx.x] = s[threadIdx.x];
}

// Grid-stride loop: y = a x + y for any n, whatever the grid.
__global__ void axpy(int n, float a, const float* x, float* y) {
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < n;
       i += static_cast<int>(blockDim.x * gridDim.x)) {
    y[i] = a * x[i] + y[i];
  }
}

__global__ void add_one(float* x, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) x[i] += 1.0f;
}

// cuRAND's Philox in a kernel: thread t draws from subsequence t. out[t * 5 + k]: four
// curand() values, then the bits of one curand_uniform().
__global__ void philox_draws(unsigned long long seed, unsigned long long offset, unsigned* out) {
  const unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
  curandStatePhilox4_32_10_t state;
  curand_init(seed, t, offset, &state);
  for (int k = 0; k < 4; ++k) out[t * 5 + k] = curand(&state);
  out[t * 5 + 4] = __float_as_uint(curand_uniform(&state));
}

// One softmax row per block: the max and sum-of-exp reductions of a softmax cross-entropy, as
// the benchmark of the emulator's speed. y = softmax(x) row-wise, loss[row] = lse - x[label].
__global__ void softmax_rows(const float* x, int cols, const int* labels, float* y, float* loss) {
  __shared__ float partial[32];
  const float* row = x + static_cast<size_t>(blockIdx.x) * cols;
  float* out = y + static_cast<size_t>(blockIdx.x) * cols;
  float m = -INFINITY;
  for (int j = static_cast<int>(threadIdx.x); j < cols; j += static_cast<int>(blockDim.x)) {
    m = fmaxf(m, row[j]);
  }
  m = block_max(m, partial);
  __syncthreads();  // everyone has read the max before partial is reused
  float s = 0.0f;
  for (int j = static_cast<int>(threadIdx.x); j < cols; j += static_cast<int>(blockDim.x)) {
    s += __expf(row[j] - m);
  }
  s = block_sum(s, partial);
  const float inv = 1.0f / s;
  for (int j = static_cast<int>(threadIdx.x); j < cols; j += static_cast<int>(blockDim.x)) {
    out[j] = __expf(row[j] - m) * inv;
  }
  if (threadIdx.x == 0) loss[blockIdx.x] = m + __logf(s) - row[labels[blockIdx.x]];
}

// Two block sums over the same scratch with the barrier between them missing when `racy`: the
// second reduction's writes to partial[0] can land before slower warps have read the first
// total. out[t] = the first total as thread t saw it; out[blockDim.x] = the second total.
__global__ void two_sums(const float* x, bool racy, float* out) {
  __shared__ float partial[32];
  const float v = x[threadIdx.x];
  const float first = block_sum(v, partial);
  if (!racy) __syncthreads();
  const float second = block_sum(2.0f * v, partial);
  out[threadIdx.x] = first;
  if (threadIdx.x == 0) out[blockDim.x] = second;
}

// Each thread stores its value and reads its left neighbour's, without a barrier between when
// `racy`. out[t] = x[t - 1] (0 for thread 0).
__global__ void shift_right(const float* x, bool racy, float* out) {
  XENT_DYNAMIC_SHARED(float, s);
  const unsigned t = threadIdx.x;
  s[t] = x[t];
  if (!racy) __syncthreads();
  out[t] = t == 0 ? 0.0f : s[t - 1];
}

// Wrong on purpose: threads at or past `stay` leave before the barrier.
constexpr int kPartialBarrierLine = __LINE__ + 5;
__global__ void partial_barrier(int stay, float* out) {
  __shared__ float s[256];
  if (static_cast<int>(threadIdx.x) >= stay) return;
  s[threadIdx.x] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[(threadIdx.x + 1) % static_cast<unsigned>(stay)];
}

// Wrong on purpose: the two halves of the block wait at different barriers.
constexpr int kSplitBarrierLineA = __LINE__ + 4;
constexpr int kSplitBarrierLineB = __LINE__ + 6;
__global__ void split_barrier(float* out) {
  if (threadIdx.x < 64) {
    __syncthreads();
    out[threadIdx.x] = 1.0f;
  } else {
    __syncthreads();
    out[threadIdx.x] = 2.0f;
  }
}

// Wrong on purpose: the lanes of one warp call different shuffles with the same mask.
constexpr int kWarpMismatchLineA = __LINE__ + 5;
constexpr int kWarpMismatchLineB = __LINE__ + 6;
__global__ void warp_mismatch(float* out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x < 16) {
    v = __shfl_xor_sync(kFull, v, 1);
  } else {
    v = __shfl_down_sync(kFull, v, 1);
  }
  out[threadIdx.x] = v;
}

// Out-of-bounds writes for the sanitizer build: global memory at x[index], static shared memory
// at s[index], dynamic shared memory at d[index].
__global__ void write_global(float* x, int index) {
  if (threadIdx.x == 0) x[index] = 1.0f;
}

__global__ void write_static_shared(int index, float* out) {
  __shared__ float s[64];
  s[threadIdx.x] = 0.0f;
  __syncthreads();
  if (threadIdx.x == 0) s[index] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}

__global__ void write_dynamic_shared(int index, float* out) {
  XENT_DYNAMIC_SHARED(float, d);
  d[threadIdx.x] = 0.0f;
  __syncthreads();
  if (threadIdx.x == 0) d[index] = 1.0f;
  __syncthreads();
  out[threadIdx.x] = d[threadIdx.x];
}

}  // namespace simt_test
