// The probe reductions. Every sum runs in two fixed-order passes: blocks reduce chunks of rows
// into scratch, then one thread per output adds the chunks in chunk order. The chunking depends
// only on the shapes, so a given shape gives the same bits on every run.
#include "compat.cuh"
//
#include <algorithm>

#include "check.cuh"
#include "grid.cuh"
#include "probe.h"
#include "reduce.cuh"

namespace xent::kernels {
namespace {

// Blocks the first passes aim for: enough to give each of an H200's 132 SMs a few; more chunks
// only lengthen pass two. A fixed number, not the device's SM count (kernels/grid.cuh): the
// chunks set the order in which every sum is added up, so a fixed target keeps the bits a
// function of the shapes alone on every device, and the scratch sizes below need no device. A
// device with more SMs runs the probe (once per evaluation) slightly short of full.
constexpr int64_t kTargetBlocks = 132 * 4;
constexpr int kThreads = 256;

// Rows [begin, end) cut into `count` chunks of `rows` (a multiple of `step`) each, the last
// one shorter: as many as the grid needs to fill the machine, at most one per step of rows.
struct Chunks {
  int64_t rows = 0;
  int count = 0;
};

Chunks plan_chunks(int64_t rows, int64_t step, int64_t other_blocks) {
  const int64_t steps = (rows + step - 1) / step;
  const int64_t want = std::max<int64_t>(1, (kTargetBlocks + other_blocks - 1) / other_blocks);
  const int64_t count = std::min(steps, want);
  Chunks c;
  c.rows = (steps + count - 1) / count * step;
  c.count = static_cast<int>((rows + c.rows - 1) / c.rows);
  return c;
}

// An upper bound on other_blocks * plan_chunks(rows, step, other_blocks).count (which is at
// most min(steps, want), with other_blocks * want < kTargetBlocks + other_blocks). The count
// itself can fall as rows grow (the chunk length rounds up); this bound never falls as any
// argument grows, so scratch sized for the largest call serves every smaller one.
int64_t blocks_bound(int64_t rows, int64_t step, int64_t other_blocks) {
  const int64_t steps = (rows + step - 1) / step;
  return std::min(other_blocks * steps, kTargetBlocks + other_blocks);
}

// The finishing kernels: one thread per output, in a grid-stride loop.
unsigned elementwise_blocks(int64_t total) { return stride_blocks(total, kThreads); }

__device__ __forceinline__ int64_t chunk_end(int64_t r0, int64_t rows, int64_t end) {
  return r0 + rows < end ? r0 + rows : end;
}

// ---- column means ----------------------------------------------------------------------------

// A block is 32 columns x 8 row lanes: each warp reads 32 consecutive floats of a row.
constexpr int kMeanCols = 32;
constexpr int kMeanLanes = kThreads / kMeanCols;
constexpr int64_t kMeanStep = 64;  // rows per chunk come in these, 8 per lane

__global__ void __launch_bounds__(kThreads)
    column_sums_partial(int64_t n, int cols, const float* a, int64_t begin, int64_t end,
                        int64_t chunk_rows, double* partial) {
  __shared__ double lane_sums[kMeanLanes][kMeanCols];
  const int col_in = static_cast<int>(threadIdx.x) % kMeanCols;
  const int lane = static_cast<int>(threadIdx.x) / kMeanCols;
  const int col = static_cast<int>(blockIdx.x) * kMeanCols + col_in;
  const int64_t k = blockIdx.z;
  const int64_t r0 = begin + blockIdx.y * chunk_rows;
  const int64_t r1 = chunk_end(r0, chunk_rows, end);
  double s = 0;
  if (col < cols) {
    const float* ak = a + k * n * cols;
    for (int64_t i = r0 + lane; i < r1; i += kMeanLanes) s += ak[i * cols + col];
  }
  lane_sums[lane][col_in] = s;
  __syncthreads();
  if (lane == 0 && col < cols) {
    double t = 0;
    for (int l = 0; l < kMeanLanes; ++l) t += lane_sums[l][col_in];
    partial[(k * gridDim.y + blockIdx.y) * cols + col] = t;
  }
}

// partial [K][chunks][cols] -> mean [K][cols]. A division, not a product with 1 / count: an
// exact multiple of a constant column's value then divides back to that value exactly.
__global__ void column_means_finish(int64_t total, int cols, int chunks, const double* partial,
                                    double count, double* mean) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = e / cols;
    const int64_t col = e % cols;
    double s = 0;
    for (int c = 0; c < chunks; ++c) s += partial[(k * chunks + c) * cols + col];
    mean[e] = s / count;
  }
}

// ---- moments ---------------------------------------------------------------------------------

// Output tiles of 32 x 32 entries of Z^T Z; 16 x 16 threads, each owning 2 x 2 entries; rows
// staged 64 at a time in shared memory, already shifted and in double.
constexpr int kTile = 32;
constexpr int kHalf = kTile / 2;
constexpr int kStage = 64;
static_assert(kHalf * kHalf == kThreads, "one thread per 2 x 2 entries of a tile");

// The tiles computed, by index: first the T diagonal tiles (ti, ti), then the tiles (ti, tj),
// ti < tj, for tj = t0 .. T-1 in turn. t0 = 1 computes the whole upper triangle; a larger t0
// keeps only the tiles whose column tile reaches the Y columns (skipping X^T X off the diagonal).
__host__ __device__ __forceinline__ int64_t tri(int64_t t) { return t * (t - 1) / 2; }

__host__ __device__ __forceinline__ int64_t tile_count(int T, int t0) {
  return T + tri(T) - tri(t0);
}

__device__ __forceinline__ int64_t tile_index(int ti, int tj, int T, int t0) {
  return ti == tj ? ti : T + tri(tj) - tri(t0) + ti;
}

__device__ __forceinline__ void tile_at(int64_t index, int T, int t0, int* ti, int* tj) {
  if (index < T) {
    *ti = *tj = static_cast<int>(index);
    return;
  }
  const int64_t o = index - T + tri(t0);
  int j = t0;
  while (tri(j + 1) <= o) ++j;
  *tj = j;
  *ti = static_cast<int>(o - tri(j));
}

// Column c of Z = [X - xshift | Y - yshift] at row i of replica k; 0 past the last column.
__device__ __forceinline__ double z_at(int64_t n, int p, int q, const float* x, const float* y,
                                       const double* xshift, const double* yshift, int64_t k,
                                       int64_t i, int c) {
  if (c < p)
    return static_cast<double>(x[(k * n + i) * p + c]) - (xshift ? xshift[k * p + c] : 0.0);
  c -= p;
  if (c < q)
    return static_cast<double>(y[(k * n + i) * q + c]) - (yshift ? yshift[k * q + c] : 0.0);
  return 0.0;
}

// partial [K][tiles][chunks][32 * 32]: tile blockIdx.x of Z^T Z over chunk blockIdx.y. Each
// entry is summed row after row from zero, as the CPU twin sums (padding rows add exact zeros).
__global__ void __launch_bounds__(kThreads)
    moments_partial(int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                    int64_t end, const double* xshift, const double* yshift, int T, int t0,
                    int64_t chunk_rows, double* partial) {
  __shared__ double za[kStage][kTile];
  __shared__ double zb[kStage][kTile];
  int ti = 0, tj = 0;
  tile_at(blockIdx.x, T, t0, &ti, &tj);
  const int64_t k = blockIdx.z;
  const int tx = static_cast<int>(threadIdx.x) % kHalf;
  const int ty = static_cast<int>(threadIdx.x) / kHalf;
  const int64_t r0 = begin + blockIdx.y * chunk_rows;
  const int64_t r1 = chunk_end(r0, chunk_rows, end);
  double acc00 = 0, acc01 = 0, acc10 = 0, acc11 = 0;
  for (int64_t s = r0; s < r1; s += kStage) {
    for (int e = static_cast<int>(threadIdx.x); e < kStage * kTile; e += kThreads) {
      const int r = e / kTile;
      const int c = e % kTile;
      const bool in = s + r < r1;
      za[r][c] = in ? z_at(n, p, q, x, y, xshift, yshift, k, s + r, ti * kTile + c) : 0.0;
      zb[r][c] = in ? z_at(n, p, q, x, y, xshift, yshift, k, s + r, tj * kTile + c) : 0.0;
    }
    __syncthreads();
    for (int r = 0; r < kStage; ++r) {
      const double a0 = za[r][ty], a1 = za[r][ty + kHalf];
      const double b0 = zb[r][tx], b1 = zb[r][tx + kHalf];
      acc00 += a0 * b0;
      acc01 += a0 * b1;
      acc10 += a1 * b0;
      acc11 += a1 * b1;
    }
    __syncthreads();
  }
  double* out = partial + ((k * gridDim.x + blockIdx.x) * gridDim.y + blockIdx.y) * (kTile * kTile);
  out[ty * kTile + tx] = acc00;
  out[ty * kTile + tx + kHalf] = acc01;
  out[(ty + kHalf) * kTile + tx] = acc10;
  out[(ty + kHalf) * kTile + tx + kHalf] = acc11;
}

// gram [K][w][w] from the partial tiles; entry (a, b) below the diagonal reads (b, a).
__global__ void moments_finish(int64_t total, int p, int q, int T, int t0, int chunks, bool full_xx,
                               const double* partial, double* gram) {
  const int64_t w = p + q;
  const int64_t tiles = tile_count(T, t0);
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = e / (w * w);
    const int64_t a = e / w % w;
    const int64_t b = e % w;
    const int64_t lo = a < b ? a : b;
    const int64_t hi = a < b ? b : a;
    if (!full_xx && hi < p && lo != hi) continue;
    const int ti = static_cast<int>(lo / kTile);
    const int tj = static_cast<int>(hi / kTile);
    const double* src = partial +
                        (k * tiles + tile_index(ti, tj, T, t0)) * chunks * (kTile * kTile) +
                        lo % kTile * kTile + hi % kTile;
    double s = 0;
    for (int c = 0; c < chunks; ++c) s += src[c * (kTile * kTile)];
    gram[e] = s;
  }
}

struct MomentTiles {
  int T = 0;   // tiles along one side of Z^T Z
  int t0 = 0;  // first column tile of the off-diagonal tiles computed
  int64_t count = 0;
};

MomentTiles moment_tiles(int p, int q, bool full_xx) {
  MomentTiles m;
  m.T = (p + q + kTile - 1) / kTile;
  m.t0 = full_xx ? 1 : std::max(p / kTile, 1);
  m.count = tile_count(m.T, m.t0);
  return m;
}

// ---- residuals -------------------------------------------------------------------------------

// One thread per row; targets in groups of 4 so that each row's features are read q / 4 times,
// not q times. The 8 per-thread sums of a group (4 residual, 4 total) are reduced by the 8 warps,
// one each.
constexpr int kGroup = 4;
// The loops over a group unrolled in full: a runtime index would put the group's sums in local
// memory. g++ would warn about the pragma.
#if defined(__CUDACC__)
#define XENT_PROBE_UNROLL _Pragma("unroll")
#else
#define XENT_PROBE_UNROLL
#endif
static_assert(2 * kGroup * 32 == kThreads, "one warp per sum of a group");

// No __launch_bounds__: with it ptxas (CUDA 13) held this kernel to 64 registers and spilled;
// without, 80 and no spills (3 blocks per SM).
__global__ void residuals_partial(int64_t n, int p, int q, const float* x, const float* y,
                                  int64_t begin, int64_t end, const double* map,
                                  const double* xshift, const double* yshift, const double* ymean,
                                  int64_t chunk_rows, double* partial) {
  __shared__ double sums[2 * kGroup][kThreads];
  const int64_t k = blockIdx.y;
  const int tid = static_cast<int>(threadIdx.x);
  const int64_t r0 = begin + blockIdx.x * chunk_rows;
  const int64_t r1 = chunk_end(r0, chunk_rows, end);
  const float* xk = x + k * n * p;
  const float* yk = y + k * n * q;
  const double* bk = map + k * p * q;
  const double* xs = xshift ? xshift + k * p : nullptr;
  const double* ys = yshift ? yshift + k * q : nullptr;
  const double* ym = ymean + k * q;
  for (int g = 0; g < q; g += kGroup) {
    const int width = q - g < kGroup ? q - g : kGroup;
    double res[kGroup] = {}, tot[kGroup] = {};
    for (int64_t i = r0 + tid; i < r1; i += kThreads) {
      const float* xi = xk + i * p;
      double pred[kGroup];
      // The CPU twin's expression, term for term: yshift first, then the features in order.
      XENT_PROBE_UNROLL for (int u = 0; u < kGroup; ++u) {
        pred[u] = u < width && ys ? ys[g + u] : 0.0;
      }
      for (int j = 0; j < p; ++j) {
        const double dx = static_cast<double>(xi[j]) - (xs ? xs[j] : 0.0);
        const double* bj = bk + static_cast<int64_t>(j) * q + g;
        XENT_PROBE_UNROLL for (int u = 0; u < kGroup; ++u) {
          if (u < width) pred[u] += dx * bj[u];
        }
      }
      XENT_PROBE_UNROLL for (int u = 0; u < kGroup; ++u) {
        if (u >= width) continue;
        const double yv = yk[i * q + g + u];
        const double r = yv - pred[u];
        const double t = yv - ym[g + u];
        res[u] += r * r;
        tot[u] += t * t;
      }
    }
    XENT_PROBE_UNROLL for (int u = 0; u < kGroup; ++u) {
      sums[u][tid] = res[u];
      sums[kGroup + u][tid] = tot[u];
    }
    __syncthreads();
    const int warp = tid / 32;
    const int lane = tid % 32;
    double s = 0;
    for (int e = lane; e < kThreads; e += 32) s += sums[warp][e];
    s = warp_reduce(s, Sum());
    const int u = warp % kGroup;
    if (lane == 0 && u < width)
      partial[((k * gridDim.x + blockIdx.x) * 2 + warp / kGroup) * q + g + u] = s;
    __syncthreads();  // before the next group overwrites sums
  }
}

// partial [K][chunks][2][q] -> ss_res, ss_tot [K][q].
__global__ void residuals_finish(int64_t total, int q, int chunks, const double* partial,
                                 double* ss_res, double* ss_tot) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = e / q;
    const int64_t col = e % q;
    double res = 0, tot = 0;
    for (int c = 0; c < chunks; ++c) {
      res += partial[((k * chunks + c) * 2) * q + col];
      tot += partial[((k * chunks + c) * 2 + 1) * q + col];
    }
    ss_res[e] = res;
    ss_tot[e] = tot;
  }
}

// ---- correlations ----------------------------------------------------------------------------

__global__ void correlations_from_gram(int64_t total, int p, int q, const double* gram, double* r) {
  const int64_t w = p + q;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t k = e / (static_cast<int64_t>(p) * q);
    const int64_t j = e / q % p;
    const int64_t c = p + e % q;
    const double* g = gram + k * w * w;
    const double sxx = g[j * w + j];
    const double syy = g[c * w + c];
    double v = 0;
    // Division and sqrt round correctly in double on the device too: the twin's exact bits.
    if (sxx != 0.0 && syy != 0.0) v = g[j * w + c] / sqrt(sxx * syy);
    r[e] = isfinite(v) ? fmin(fmax(v, -1.0), 1.0) : 0.0;
  }
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

int64_t probe_column_means_scratch(int K, int64_t rows, int cols) {
  if (K <= 0 || rows <= 0 || cols <= 0) return 0;
  // The launch plans with K times the column blocks; planning with K alone bounds it above.
  return blocks_bound(rows, kMeanStep, K) * cols;
}

int64_t probe_moments_scratch(int K, int64_t rows, int p, int q, bool full_xx) {
  if (K <= 0 || rows <= 0 || p <= 0 || q <= 0) return 0;
  return blocks_bound(rows, kStage, moment_tiles(p, q, full_xx).count * K) * kTile * kTile;
}

int64_t probe_residuals_scratch(int K, int64_t rows, int q) {
  if (K <= 0 || rows <= 0 || q <= 0) return 0;
  return blocks_bound(rows, kThreads, K) * 2 * q;
}

void probe_column_means(int K, int64_t n, int cols, const float* a, int64_t begin, int64_t end,
                        double* mean, double* scratch, cudaStream_t stream) {
  const int64_t rows = end - begin;
  if (K <= 0 || rows <= 0 || cols <= 0) return;
  const int64_t col_blocks = (cols + kMeanCols - 1) / kMeanCols;
  const Chunks ch = plan_chunks(rows, kMeanStep, col_blocks * K);
  launch(column_sums_partial,
         dim3(static_cast<unsigned>(col_blocks), static_cast<unsigned>(ch.count),
              static_cast<unsigned>(K)),
         dim3(kThreads), 0, stream)(n, cols, a, begin, end, ch.rows, scratch);
  check_launch("column_sums_partial");
  const int64_t total = int64_t{K} * cols;
  launch(column_means_finish, dim3(elementwise_blocks(total)), dim3(kThreads), 0, stream)(
      total, cols, ch.count, scratch, static_cast<double>(rows), mean);
  check_launch("column_means_finish");
}

void probe_moments(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                   int64_t end, const double* xshift, const double* yshift, bool full_xx,
                   double* gram, double* scratch, cudaStream_t stream) {
  const int64_t rows = end - begin;
  if (K <= 0 || rows <= 0 || p <= 0 || q <= 0) return;
  const MomentTiles t = moment_tiles(p, q, full_xx);
  const Chunks ch = plan_chunks(rows, kStage, t.count * K);
  launch(moments_partial,
         dim3(static_cast<unsigned>(t.count), static_cast<unsigned>(ch.count),
              static_cast<unsigned>(K)),
         dim3(kThreads), 0,
         stream)(n, p, q, x, y, begin, end, xshift, yshift, t.T, t.t0, ch.rows, scratch);
  check_launch("moments_partial");
  const int64_t w = p + q;
  const int64_t total = K * w * w;
  launch(moments_finish, dim3(elementwise_blocks(total)), dim3(kThreads), 0, stream)(
      total, p, q, t.T, t.t0, ch.count, full_xx, scratch, gram);
  check_launch("moments_finish");
}

void probe_residuals(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                     int64_t end, const double* map, const double* xshift, const double* yshift,
                     const double* ymean, double* ss_res, double* ss_tot, double* scratch,
                     cudaStream_t stream) {
  const int64_t rows = end - begin;
  if (K <= 0 || rows <= 0 || p <= 0 || q <= 0) return;
  const Chunks ch = plan_chunks(rows, kThreads, K);
  launch(residuals_partial, dim3(static_cast<unsigned>(ch.count), static_cast<unsigned>(K)),
         dim3(kThreads), 0,
         stream)(n, p, q, x, y, begin, end, map, xshift, yshift, ymean, ch.rows, scratch);
  check_launch("residuals_partial");
  const int64_t total = int64_t{K} * q;
  launch(residuals_finish, dim3(elementwise_blocks(total)), dim3(kThreads), 0, stream)(
      total, q, ch.count, scratch, ss_res, ss_tot);
  check_launch("residuals_finish");
}

void probe_correlations(int K, int p, int q, const double* gram, double* r, cudaStream_t stream) {
  if (K <= 0 || p <= 0 || q <= 0) return;
  const int64_t total = int64_t{K} * p * q;
  launch(correlations_from_gram, dim3(elementwise_blocks(total)), dim3(kThreads), 0, stream)(
      total, p, q, gram, r);
  check_launch("correlations_from_gram");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
