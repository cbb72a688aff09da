// A shared-memory tiled SGEMM for the linear layer's three products (y = x W^T, dx = dy W,
// dW = dy^T x): the baseline that xent_gpu_bench times cuBLAS against. Nothing in the engine
// calls it: the CUDA backend's GEMMs are cuBLAS's (host/cuda/blas_cublas.cpp), with the bias
// kernels of kernels/linear.cu around them. It is compiled like a kernel, by nvcc and for the
// emulator, so that tests/tiled_sgemm_kernel_test.cpp checks it on both.
//
// The three products differ only in which index of each row-major operand is contiguous, a
// template flag per operand. Each block computes a 64 x 64 tile of C; each of its 256 threads a
// 4 x 4 register micro-tile. Every element of C is one thread's serial sum in reduction order,
// so results are deterministic and need no atomics.
#include "kernels/compat.cuh"
//
#include <cstdint>
#include <string>

#include "bench/tiled_sgemm.h"
#include "kernels/check.cuh"
#include "kernels/linear.h"

namespace xent::bench {
namespace {

using kernels::check_launch;

constexpr int kTile = 64;              // rows and columns of C per block
constexpr int kDepth = 16;             // reduction indices staged per pair of barriers
constexpr int kMicro = 4;              // each thread's outputs: kMicro rows x kMicro columns
constexpr int kSide = kTile / kMicro;  // 16 x 16 threads
constexpr int kThreads = kSide * kSide;
constexpr int kPerThread = kTile * kDepth / kThreads;  // operand elements each thread stages
// Row padding: keeps a row 16 bytes aligned (vector loads of the A micro-tile) and spreads the
// transposing stores of p-contiguous operands over more banks.
constexpr int kPad = 4;

// The inner product loop unrolled in full, so that its shared-memory loads are scheduled
// ahead of the FMAs (nvcc's heuristic unrolls it twice). g++ would warn about the pragma.
#if defined(__CUDACC__)
#define XENT_UNROLL _Pragma("unroll")
#else
#define XENT_UNROLL
#endif

using Tile = float[kDepth][kTile + kPad];
struct alignas(16) Tiles {
  Tile a, b;
};

// C[M][N] = sum_p A(m, p) B(p, n) (+ bias[n]) for each replica z; C is row-major with ldc = N.
// Replica z's operands start at a + z * stride_a, and so on.
struct Gemm {
  int64_t M, N, P;
  const float* a;
  int64_t lda, stride_a;
  const float* b;
  int64_t ldb, stride_b;
  float* c;
  int64_t stride_c;
  const float* bias;  // may be null
  int64_t stride_bias;
};

// An operand as tile[p][i] (i = m for A, n for B). kIContiguous: element (i, p) is at p*ld + i,
// else at i*ld + p. Thread t stages elements t, t + kThreads, ... of the 64 x 16 slice, numbered
// along the contiguous index so that a warp's loads coalesce. Outside the matrix: zeros, which
// add nothing to the sums and never reach C.
template <bool kIContiguous>
__device__ __forceinline__ void fetch(const float* src, int64_t ld, int64_t extent_i,
                                      int64_t extent_p, int64_t i0, int64_t p0,
                                      float (&reg)[kPerThread]) {
  for (int j = 0; j < kPerThread; ++j) {
    const int e = static_cast<int>(threadIdx.x) + j * kThreads;
    const int64_t i = i0 + (kIContiguous ? e % kTile : e / kDepth);
    const int64_t p = p0 + (kIContiguous ? e / kTile : e % kDepth);
    reg[j] = (i < extent_i && p < extent_p) ? src[kIContiguous ? p * ld + i : i * ld + p] : 0.0f;
  }
}

template <bool kIContiguous>
__device__ __forceinline__ void stage(const float (&reg)[kPerThread], Tile& tile) {
  for (int j = 0; j < kPerThread; ++j) {
    const int e = static_cast<int>(threadIdx.x) + j * kThreads;
    tile[kIContiguous ? e / kTile : e % kDepth][kIContiguous ? e % kTile : e / kDepth] = reg[j];
  }
}

// kTransA: A is stored [P][M] (else [M][P]); kTransB: B is stored [N][P] (else [P][N]), as in
// BLAS. grid: x = tiles of M, y = tiles of N, z = replicas.
template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads) gemm(Gemm g) {
  __shared__ Tiles tiles;
  const int64_t z = blockIdx.z;
  const float* a = g.a + z * g.stride_a;
  const float* b = g.b + z * g.stride_b;
  const int64_t m0 = int64_t{blockIdx.x} * kTile;
  const int64_t n0 = int64_t{blockIdx.y} * kTile;
  // A thread's rows are adjacent (one vector load from shared memory per step); its columns
  // are kSide apart, so that a warp's stores of C cover contiguous runs.
  const int tx = static_cast<int>(threadIdx.x) % kSide;
  const int ty = static_cast<int>(threadIdx.x) / kSide;

  float acc[kMicro][kMicro] = {};
  float ra[kPerThread], rb[kPerThread];
  fetch<kTransA>(a, g.lda, g.M, g.P, m0, 0, ra);
  fetch<!kTransB>(b, g.ldb, g.N, g.P, n0, 0, rb);
  for (int64_t p0 = 0; p0 < g.P; p0 += kDepth) {
    stage<kTransA>(ra, tiles.a);
    stage<!kTransB>(rb, tiles.b);
    __syncthreads();
    // The next slice's global loads are in flight while this one is multiplied.
    if (p0 + kDepth < g.P) {
      fetch<kTransA>(a, g.lda, g.M, g.P, m0, p0 + kDepth, ra);
      fetch<!kTransB>(b, g.ldb, g.N, g.P, n0, p0 + kDepth, rb);
    }
    XENT_UNROLL for (int p = 0; p < kDepth; ++p) {
      float av[kMicro], bv[kMicro];
      for (int i = 0; i < kMicro; ++i) av[i] = tiles.a[p][ty * kMicro + i];
      for (int j = 0; j < kMicro; ++j) bv[j] = tiles.b[p][tx + j * kSide];
      for (int i = 0; i < kMicro; ++i)
        for (int j = 0; j < kMicro; ++j) acc[i][j] += av[i] * bv[j];
    }
    // The next iteration overwrites the tiles.
    __syncthreads();
  }

  float* c = g.c + z * g.stride_c;
  const float* bias = g.bias ? g.bias + z * g.stride_bias : nullptr;
  for (int i = 0; i < kMicro; ++i) {
    const int64_t m = m0 + ty * kMicro + i;
    if (m >= g.M) break;
    for (int j = 0; j < kMicro; ++j) {
      const int64_t n = n0 + tx + j * kSide;
      if (n >= g.N) break;
      // The CPU twin adds the bias to the finished product, in float: so does this.
      c[m * g.N + n] = bias ? acc[i][j] + bias[n] : acc[i][j];
    }
  }
}

unsigned tile_count(int64_t extent) { return static_cast<unsigned>((extent + kTile - 1) / kTile); }

template <bool kTransA, bool kTransB>
void run_gemm(const Gemm& g, int replicas, cudaStream_t stream, const char* name) {
  if (g.M <= 0 || g.N <= 0 || replicas <= 0) return;
  // gridDim.y and .z stop at 65535: N is at most a layer's width or the head's class count.
  if (tile_count(g.N) > 65535u || replicas > 65535)
    throw DeviceError(std::string(name) + ": too many columns or replicas for one launch");
  launch(gemm<kTransA, kTransB>,
         dim3(tile_count(g.M), tile_count(g.N), static_cast<unsigned>(replicas)), dim3(kThreads), 0,
         stream)(g);
  check_launch(name);
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void tiled_linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                          float* y, cudaStream_t stream) {
  // y [rows][out] = x [rows][in] * (W [out][in])^T.
  const int64_t in = s.in, out = s.out;
  const Gemm g{s.rows, out, in, x, in, s.rows * in, w, in, out * in, y, s.rows * out, b, out};
  run_gemm<false, true>(g, s.K, stream, "tiled_linear_forward (x W^T + b)");
}

void tiled_linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                           float* dx, float* dw, float* db, cudaStream_t stream) {
  const int64_t in = s.in, out = s.out, rows = s.rows;
  if (dx) {
    // dx [rows][in] = dy [rows][out] * W [out][in].
    const Gemm g{rows, in, out, dy, out, rows * out, w, in, out * in, dx, rows * in, nullptr, 0};
    run_gemm<false, false>(g, s.K, stream, "tiled_linear_backward (dy W)");
  }
  // dW [out][in] = (dy [rows][out])^T * x [rows][in].
  const Gemm g{out, in, rows, dy, out, rows * out, x, in, rows * in, dw, out * in, nullptr, 0};
  run_gemm<true, false>(g, s.K, stream, "tiled_linear_backward (dy^T x)");
  if (db) kernels::linear_bias_grad(s, dy, db, stream);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::bench
