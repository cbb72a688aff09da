// Fused softmax cross-entropy. Memory-bound: a row is read once for the online max / sum-exp /
// arg-max (one exp per element: the running sum is rescaled only when the max grows), and, with
// the gradient, read once more and overwritten. Probabilities never reach memory.
//
// A row belongs to a group of threads: a warp for up to kWarpRowMax classes (several rows per
// block, no block barrier), the whole block above that (up to 100,000 classes and more).
#include "compat.cuh"
//
#include <algorithm>

#include "check.cuh"
#include "reduce.cuh"
#include "softmax_xent.h"

namespace xent::kernels {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kWarpRowMax = 4096;

// The running state of one thread's share of a row: max m, sum of exp(x - m), first arg-max.
struct Online {
  float m = -INFINITY;
  float s = 0.0f;
  int arg = 0x7fffffff;

  __device__ __forceinline__ void add(float v, int j) {
    // Strict > keeps the first index among equal maxima, as the CPU twin does; visiting each
    // thread's indices in increasing order makes that hold per thread.
    if (v > m) {
      s = s * expf(m - v) + 1.0f;  // m = -inf at the start: 0 * 0 + 1
      m = v;
      arg = j;
    } else {
      s += expf(v - m);
    }
  }

  __device__ __forceinline__ void merge(float m2, float s2, int arg2) {
    const float mx = fmaxf(m, m2);
    // An empty share has s = 0 and m = -inf: skip it rather than form exp(-inf - -inf) = NaN.
    const float a = s > 0.0f ? s * expf(m - mx) : 0.0f;
    const float b = s2 > 0.0f ? s2 * expf(m2 - mx) : 0.0f;
    arg = m > m2 ? arg : (m2 > m ? arg2 : min(arg, arg2));
    m = mx;
    s = a + b;
  }
};

__device__ __forceinline__ void warp_merge(Online& o) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const float m2 = __shfl_xor_sync(kFullMask, o.m, offset);
    const float s2 = __shfl_xor_sync(kFullMask, o.s, offset);
    const int arg2 = __shfl_xor_sync(kFullMask, o.arg, offset);
    o.merge(m2, s2, arg2);
  }
}

// Every thread of the group ends with the row's state.
template <int kGroup>
__device__ __forceinline__ void group_merge(Online& o) {
  warp_merge(o);
  if constexpr (kGroup > 32) {
    __shared__ float m_part[32], s_part[32];
    __shared__ int arg_part[32];
    const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (lane == 0) {
      m_part[warp] = o.m;
      s_part[warp] = o.s;
      arg_part[warp] = o.arg;
    }
    __syncthreads();
    o = Online{};
    if (lane < kGroup / 32) o.merge(m_part[lane], s_part[lane], arg_part[lane]);
    warp_merge(o);
    __syncthreads();  // the partials may be rewritten by the next use
  }
}

// Calls f(j, x[j]) for the group thread t's share of a row, in increasing j: float4 loads when
// the row starts on 16 bytes, then the tail (or everything, when it does not).
template <int kGroup, typename F>
__device__ __forceinline__ void for_row(const float* x, int classes, int t, F&& f) {
  int start = 0;
  if (reinterpret_cast<uintptr_t>(x) % 16 == 0) {
    const int n4 = classes / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    for (int i = t; i < n4; i += kGroup) {
      const float4 v = x4[i];
      f(4 * i, v.x);
      f(4 * i + 1, v.y);
      f(4 * i + 2, v.z);
      f(4 * i + 3, v.w);
    }
    start = 4 * n4;
  }
  for (int j = start + t; j < classes; j += kGroup) f(j, x[j]);
}

template <int kGroup>
__global__ void __launch_bounds__(kBlock)
    softmax_xent_rows(int64_t total_rows, int64_t rows, int classes, float* logits,
                      const int32_t* labels, float* per_row, bool grad) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (kBlock / kGroup) + threadIdx.x / kGroup;
  // Uniform over a group (a whole warp, or the whole block, whose row always exists), so no
  // barrier or shuffle loses members.
  if (row >= total_rows) return;
  const int t = static_cast<int>(threadIdx.x % kGroup);
  float* x = logits + row * classes;

  const int32_t y = labels[row];
  const bool valid = y >= 0 && y < classes;
  // Read before the merge: after it, other threads overwrite the row with gradients.
  const float label_logit = t == 0 && valid ? x[y] : 0.0f;

  Online o;
  for_row<kGroup>(x, classes, t, [&](int j, float v) { o.add(v, j); });
  group_merge<kGroup>(o);
  if constexpr (kGroup == 32) __syncwarp();  // orders every lane's reads before any write
  const float lse = o.m + logf(o.s);

  if (t == 0) {
    per_row[row] = lse;
    per_row[total_rows + row] = valid ? lse - label_logit : NAN;
    per_row[2 * total_rows + row] = valid && o.arg == y ? 1.0f : 0.0f;
  }
  if (!grad) return;
  const float inv_rows = 1.0f / static_cast<float>(rows);
  float* g = x;
  auto write = [&](int j, float v) { g[j] = (expf(v - lse) - (j == y ? 1.0f : 0.0f)) * inv_rows; };
  if (reinterpret_cast<uintptr_t>(x) % 16 == 0) {
    const int n4 = classes / 4;
    float4* x4 = reinterpret_cast<float4*>(x);
    for (int i = t; i < n4; i += kGroup) {
      float4 v = x4[i];
      const int j = 4 * i;
      v.x = (expf(v.x - lse) - (j == y ? 1.0f : 0.0f)) * inv_rows;
      v.y = (expf(v.y - lse) - (j + 1 == y ? 1.0f : 0.0f)) * inv_rows;
      v.z = (expf(v.z - lse) - (j + 2 == y ? 1.0f : 0.0f)) * inv_rows;
      v.w = (expf(v.w - lse) - (j + 3 == y ? 1.0f : 0.0f)) * inv_rows;
      x4[i] = v;
    }
    for (int j = 4 * n4 + t; j < classes; j += kGroup) write(j, x[j]);
  } else {
    for (int j = t; j < classes; j += kGroup) write(j, x[j]);
  }
}

// One block per replica: the mean loss and the hit count, summed in double in a fixed order.
__global__ void __launch_bounds__(kBlock)
    softmax_xent_sums(int64_t total_rows, int64_t rows, const float* per_row, float* loss,
                      float* correct) {
  __shared__ double partial[32];
  const int64_t first = static_cast<int64_t>(blockIdx.x) * rows;
  double l = 0.0, h = 0.0;
  for (int64_t r = threadIdx.x; r < rows; r += kBlock) {
    l += per_row[total_rows + first + r];
    h += per_row[2 * total_rows + first + r];
  }
  l = block_reduce(l, Sum{}, 0.0, partial);
  h = block_reduce(h, Sum{}, 0.0, partial);
  if (threadIdx.x == 0) {
    loss[blockIdx.x] = static_cast<float>(l / static_cast<double>(rows));
    if (correct) correct[blockIdx.x] = static_cast<float>(h);
  }
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* per_row,
                  float* loss, float* correct, bool grad, cudaStream_t stream) {
  if (s.K <= 0 || s.rows <= 0) return;
  const int64_t total = s.K * s.rows;
  const int classes = static_cast<int>(s.classes);
  if (s.classes <= kWarpRowMax) {
    constexpr int kRowsPerBlock = kBlock / 32;
    const auto blocks = static_cast<unsigned>((total + kRowsPerBlock - 1) / kRowsPerBlock);
    launch(softmax_xent_rows<32>, dim3(blocks), dim3(kBlock), 0, stream)(
        total, s.rows, classes, logits, labels, per_row, grad);
  } else {
    launch(softmax_xent_rows<kBlock>, dim3(static_cast<unsigned>(total)), dim3(kBlock), 0, stream)(
        total, s.rows, classes, logits, labels, per_row, grad);
  }
  check_launch("softmax_xent_rows");
  launch(softmax_xent_sums, dim3(static_cast<unsigned>(s.K)), dim3(kBlock), 0, stream)(
      total, s.rows, per_row, loss, correct);
  check_launch("softmax_xent_sums");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
