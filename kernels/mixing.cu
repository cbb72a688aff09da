// The mixing MLP forward. Same arithmetic as the CPU twin: the sample in double, each row's dot
// product summed in column order, LeakyReLU(0.2) in double, one rounding to float at the end.
// So the emulated kernel matches the CPU bit for bit, and the GPU's only difference is FMA
// contraction of the double products, far below float resolution.
//
// The paper's d (5..20) is too small to share one sample among threads: a thread per sample,
// with d a template parameter so that the vector lives in registers and every loop unrolls.
// The weights (at most layers x 400 floats per replica) are read at the same address by the
// whole warp: broadcast loads that stay in L1. Wider d (up to the config's 4096) takes a block
// per sample instead.
#include "compat.cuh"
//
#include <cstdint>
#include <string>
#include <utility>

#include "check.cuh"
#include "mixing.h"

namespace xent::kernels {
namespace {

// The register path needs its loops fully unrolled (a runtime index would put the vector in
// local memory); nvcc's own heuristic stops short of D = 17. g++ would warn about the pragma.
#if defined(__CUDACC__)
#define XENT_UNROLL _Pragma("unroll")
#else
#define XENT_UNROLL
#endif

constexpr int kMinD = 2;
constexpr int kMaxSmallD = 20;
constexpr int kSmallThreads = 128;

__device__ __forceinline__ double leaky(double v) { return v > 0.0 ? v : 0.2 * v; }

// grid: x = samples / kSmallThreads, y = replicas.
template <int D>
__global__ void __launch_bounds__(kSmallThreads)
    mixing_small(int layers, const float* __restrict__ weights, const float* __restrict__ z,
                 int64_t n, float* __restrict__ x) {
  const int64_t s = int64_t{blockIdx.x} * kSmallThreads + threadIdx.x;
  if (s >= n) return;
  const int64_t k = blockIdx.y;
  const float* w = weights + k * layers * D * D;
  const float* zs = z + (k * n + s) * D;
  double cur[D], next[D];
  for (int i = 0; i < D; ++i) cur[i] = static_cast<double>(zs[i]);
  for (int l = 0; l < layers; ++l) {
    const float* wl = w + int64_t{l} * D * D;
    XENT_UNROLL for (int r = 0; r < D; ++r) {
      double acc = 0.0;
      XENT_UNROLL for (int c = 0; c < D; ++c) acc += static_cast<double>(wl[r * D + c]) * cur[c];
      next[r] = l + 1 < layers ? leaky(acc) : acc;
    }
    for (int i = 0; i < D; ++i) cur[i] = next[i];
  }
  float* xs = x + (k * n + s) * D;
  for (int i = 0; i < D; ++i) xs[i] = static_cast<float>(cur[i]);
}

constexpr int kWideThreads = 256;
constexpr int kWideRows = 16;  // rows per thread, so d <= kWideThreads * kWideRows
constexpr int kMaxD = kWideThreads * kWideRows;

// One block per sample: the vector in shared memory (d doubles), each thread's rows of the
// next layer in registers until every thread has read the current one. grid: x = samples,
// y = replicas.
__global__ void __launch_bounds__(kWideThreads)
    mixing_wide(int layers, int d, const float* __restrict__ weights, const float* __restrict__ z,
                int64_t n, float* __restrict__ x) {
  XENT_DYNAMIC_SHARED(double, cur);
  const int64_t k = blockIdx.y;
  const int64_t dd = int64_t{d} * d;
  const float* w = weights + k * layers * dd;
  const int64_t row0 = (k * n + blockIdx.x) * d;
  const int t = static_cast<int>(threadIdx.x);
  for (int i = t; i < d; i += kWideThreads) cur[i] = static_cast<double>(z[row0 + i]);
  __syncthreads();
  for (int l = 0; l < layers; ++l) {
    const float* wl = w + l * dd;
    double mine[kWideRows];
    for (int j = 0; j < kWideRows; ++j) {
      const int r = t + j * kWideThreads;
      if (r >= d) break;
      double acc = 0.0;
      for (int c = 0; c < d; ++c) acc += static_cast<double>(wl[int64_t{r} * d + c]) * cur[c];
      mine[j] = l + 1 < layers ? leaky(acc) : acc;
    }
    __syncthreads();  // every thread has read cur
    for (int j = 0; j < kWideRows; ++j) {
      const int r = t + j * kWideThreads;
      if (r >= d) break;
      cur[r] = mine[j];
    }
    __syncthreads();
  }
  for (int i = t; i < d; i += kWideThreads) x[row0 + i] = static_cast<float>(cur[i]);
}

using SmallKernel = void (*)(int, const float*, const float*, int64_t, float*);

template <int... I>
SmallKernel small_kernel(int d, std::integer_sequence<int, I...>) {
  static const SmallKernel table[] = {mixing_small<I + kMinD>...};
  return table[d - kMinD];
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void mixing_forward(int K, int layers, int d, const float* weights, const float* z, int64_t n,
                    float* x, cudaStream_t stream) {
  if (d < kMinD || d > kMaxD || layers < 1)
    throw InputError("mixing_forward: needs 2 <= d <= " + std::to_string(kMaxD) +
                     " and layers >= 1, got d " + std::to_string(d) + ", layers " +
                     std::to_string(layers));
  if (K <= 0 || n <= 0) return;
  if (K > 65535) throw DeviceError("mixing_forward: too many replicas for one launch");
  if (d <= kMaxSmallD) {
    const auto blocks = static_cast<unsigned>((n + kSmallThreads - 1) / kSmallThreads);
    const SmallKernel kernel =
        small_kernel(d, std::make_integer_sequence<int, kMaxSmallD - kMinD + 1>());
    launch(kernel, dim3(blocks, static_cast<unsigned>(K)), dim3(kSmallThreads), 0, stream)(
        layers, weights, z, n, x);
    check_launch("mixing_small");
  } else {
    launch(mixing_wide, dim3(static_cast<unsigned>(n), static_cast<unsigned>(K)),
           dim3(kWideThreads), static_cast<size_t>(d) * sizeof(double),
           stream)(layers, d, weights, z, n, x);
    check_launch("mixing_wide");
  }
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
