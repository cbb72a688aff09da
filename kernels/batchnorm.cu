// BatchNorm1d + LeakyReLU. A block owns `Cols` columns of one replica and 32 groups of rows
// (threadIdx.x the column, threadIdx.y the group). The column statistics never leave the block,
// so one launch per op needs no scratch and no atomics. Blocks are 32 columns wide (a warp reads
// 32 consecutive floats of a row) where the grid has a block for every SM anyway; a narrower
// grid, as at K = 1 (width 250: 8 blocks of 132 SMs), gets blocks of 8 columns, four times as
// many, where a warp reads 8 columns of 4 rows (a 32-byte sector each). Only which threads share
// a block changes: every thread does the same rows of the same column in the same order, so the
// two widths give the same bits (tests/batchnorm_kernel_test.cpp checks that they do).
//
// The reductions reproduce the CPU twin's arithmetic exactly: runs of 32 rows (counted from
// row 0) summed in float, the runs folded into a double in row order. Each group sums one run
// per round and group 0 folds the round's runs in order. Products that the CPU rounds before an
// add go through __fmul_rn / __dmul_rn, which nvcc never contracts into an FMA.
//
// The linear layer's bias is folded in: every read of h adds it (one float addition, the
// rounding of the add_bias pass it replaces), and the backward pass sums dh into its gradient
// as it writes dh. That is two launches and two passes over the activations fewer per layer.
// The bias gradient is a column sum in double like linear_bias_grad's, in this kernel's order
// (a thread's rows, then the groups in order): deterministic, but not the CPU's row order, so
// it agrees with the CPU to the rounding of a double sum (tests/batchnorm_kernel_test.cpp).
#include "compat.cuh"
//
#include <algorithm>

#include "batchnorm.h"
#include "check.cuh"
#include "grid.cuh"

namespace xent::kernels {
namespace {

constexpr int kWide = 32;    // columns per block when the grid fills the device
constexpr int kNarrow = 8;   // columns per block when it does not
constexpr int kGroups = 32;  // groups of rows per block
constexpr int kRun = 32;     // rows summed in float before the double fold (the CPU's kBlock)
constexpr int64_t kRound = int64_t{kRun} * kGroups;  // rows of one round of runs
constexpr int kEvalCols = 32;   // columns per block in the element-wise eval pass
constexpr int kEvalGroups = 8;  // warps per block in the element-wise eval pass
constexpr int kEvalRows = 64;   // rows per block in the element-wise eval pass

__device__ __forceinline__ float leaky(float v, float slope) {
  return v * (v > 0.0f ? 1.0f : slope);
}

// h + the column's bias where one is folded in; nothing added otherwise (not even +0.0f, which
// would turn -0.0f into +0.0f). `bias` is uniform over the grid, so the branch never diverges.
__device__ __forceinline__ float with_bias(float h, const float* bias, float b) {
  return bias ? h + b : h;
}

// N column sums over rows [0, rows) in the CPU's order; term(r, run) adds row r's N values to
// run[]. The totals are valid in group 0 (threadIdx.y == 0) only. Every thread must call it.
template <int N, int Cols, typename Term>
__device__ __forceinline__ void column_sums(int64_t rows, bool active, Term term,
                                            float (*part)[kGroups][Cols], double* total) {
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  for (int i = 0; i < N; ++i) total[i] = 0.0;
  for (int64_t base = 0; base < rows; base += kRound) {
    const int64_t r0 = base + int64_t{ty} * kRun;
    const int64_t r1 = r0 + kRun < rows ? r0 + kRun : rows;
    float run[N];
    for (int i = 0; i < N; ++i) run[i] = 0.0f;
    if (active)
      for (int64_t r = r0; r < r1; ++r) term(r, run);
    for (int i = 0; i < N; ++i) part[i][ty][tx] = run[i];
    __syncthreads();
    if (ty == 0)
      for (int g = 0; g < kGroups && base + int64_t{g} * kRun < rows; ++g)
        for (int i = 0; i < N; ++i) total[i] += part[i][g][tx];
    __syncthreads();
  }
}

// Group 0's part once a column's sum of squares about the mean is known: saves mean and rstd,
// updates the running statistics, and leaves the column's affine map (scale, shift) in shared
// memory. The double division, square root and reciprocal are subroutine calls in SASS that
// clobber most registers, so little may stay live across them: squares is spent (the running
// statistics written) before the square root, and the map is one float2 (one shared address).
// Otherwise the 1024-thread blocks (Cols = 32) spill. Only the order of independent statements
// differs from the plain one: every value is the same operations on the same operands.
__device__ __forceinline__ void finish_statistics(const BatchNormShape& s, int64_t p, float mf,
                                                  double squares, const float* gamma,
                                                  const float* beta, float* mean, float* rstd,
                                                  float* running_mean, float* running_var,
                                                  float2* affine) {
  const int64_t n = s.rows;
  const double var = squares / static_cast<double>(n);
  const double unbiased = n > 1 ? squares / static_cast<double>(n - 1) : var;
  // The CPU's types exactly: momentum * mean is a float product, the rest is double.
  const double m = s.momentum;
  mean[p] = mf;
  running_mean[p] = static_cast<float>(__dmul_rn(1.0 - m, running_mean[p]) +
                                       static_cast<double>(s.momentum * mf));
  running_var[p] = static_cast<float>(__dmul_rn(1.0 - m, running_var[p]) + __dmul_rn(m, unbiased));
  const float rs = static_cast<float>(1.0 / sqrt(var + static_cast<double>(s.eps)));
  rstd[p] = rs;
  const float scale = gamma[p] * rs;
  *affine = make_float2(scale, beta[p] - __fmul_rn(mf, scale));
}

// The register path needs its loops fully unrolled (a runtime index would put the run in local
// memory); g++ would warn about the pragma.
#if defined(__CUDACC__)
#define XENT_UNROLL _Pragma("unroll")
#else
#define XENT_UNROLL
#endif

// A batch of at most one round (kRound rows, the paper's 1024) reads h once: each thread keeps
// its run of kRun rows in registers through the mean, the variance and the output. The same
// additions in the same order as bn_act_train, so the same bits.
// grid (column tiles, K), block (Cols, kGroups); s.rows <= kRound.
template <int Cols>
__global__ void __launch_bounds__(Cols* kGroups)
    bn_act_train_resident(BatchNormShape s, const float* h, const float* bias, const float* gamma,
                          const float* beta, float* a, float* mean, float* rstd,
                          float* running_mean, float* running_var) {
  __shared__ float part[kGroups][Cols];
  __shared__ float s_mean[Cols];
  __shared__ float2 s_affine[Cols];  // (scale, shift)
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int w = s.width;
  const int64_t n = s.rows;
  const int col = static_cast<int>(blockIdx.x) * Cols + tx;
  const bool active = col < w;
  const int64_t p = static_cast<int64_t>(blockIdx.y) * w + col;
  const int64_t r0 = int64_t{ty} * kRun;
  const int64_t rest = active ? n - r0 : 0;
  const int count = rest <= 0 ? 0 : rest < kRun ? static_cast<int>(rest) : kRun;  // my rows
  const int64_t at = static_cast<int64_t>(blockIdx.y) * n * w + col + r0 * w;     // my first
  const float b = bias && active ? bias[p] : 0.0f;
  float v[kRun];
  XENT_UNROLL for (int j = 0; j < kRun; ++j) {
    v[j] = j < count ? with_bias(h[at + int64_t{j} * w], bias, b) : 0.0f;
  }

  // The column's runs folded in order: group g's run is rows [32 g, 32 g + 32).
  const auto fold = [&](float run) {
    part[ty][tx] = run;
    __syncthreads();
    double total = 0.0;
    if (ty == 0)
      for (int g = 0; g < kGroups && int64_t{g} * kRun < n; ++g) total += part[g][tx];
    __syncthreads();
    return total;
  };
  float run = 0.0f;
  XENT_UNROLL for (int j = 0; j < kRun; ++j) {
    if (j < count) run += v[j];
  }
  const double sum = fold(run);
  if (ty == 0 && active) s_mean[tx] = static_cast<float>(sum / static_cast<double>(n));
  __syncthreads();
  const float mf = active ? s_mean[tx] : 0.0f;
  run = 0.0f;
  XENT_UNROLL for (int j = 0; j < kRun; ++j) {
    const float d = v[j] - mf;
    if (j < count) run += __fmul_rn(d, d);
  }
  const double squares = fold(run);
  if (ty == 0 && active)
    finish_statistics(s, p, mf, squares, gamma, beta, mean, rstd, running_mean, running_var,
                      &s_affine[tx]);
  __syncthreads();
  if (!active) return;
  const float scale = s_affine[tx].x, shift = s_affine[tx].y;
  XENT_UNROLL for (int j = 0; j < kRun; ++j) {
    if (j < count) a[at + int64_t{j} * w] = leaky(__fmul_rn(v[j], scale) + shift, s.slope);
  }
}

// Any number of rows, in rounds of kRound runs; h is read three times.
// grid (column tiles, K), block (Cols, kGroups).
template <int Cols>
__global__ void __launch_bounds__(Cols* kGroups)
    bn_act_train(BatchNormShape s, const float* h, const float* bias, const float* gamma,
                 const float* beta, float* a, float* mean, float* rstd, float* running_mean,
                 float* running_var) {
  __shared__ float part[1][kGroups][Cols];
  __shared__ float s_mean[Cols];
  __shared__ float2 s_affine[Cols];  // (scale, shift)
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int w = s.width;
  const int64_t n = s.rows;
  const int col = static_cast<int>(blockIdx.x) * Cols + tx;
  const bool active = col < w;
  const int64_t p = static_cast<int64_t>(blockIdx.y) * w + col;      // per-column vectors
  const int64_t o = static_cast<int64_t>(blockIdx.y) * n * w + col;  // column start in h, a
  const float b = bias && active ? bias[p] : 0.0f;
  const auto h_at = [&](int64_t r) { return with_bias(h[o + r * w], bias, b); };
  double total[1];

  column_sums<1>(
      n, active, [&](int64_t r, float* run) { run[0] += h_at(r); }, part, total);
  if (ty == 0 && active) s_mean[tx] = static_cast<float>(total[0] / static_cast<double>(n));
  __syncthreads();
  const float mf = active ? s_mean[tx] : 0.0f;

  // Two passes: the variance about the mean, as the CPU computes it.
  column_sums<1>(
      n, active,
      [&](int64_t r, float* run) {
        const float v = h_at(r) - mf;
        run[0] += __fmul_rn(v, v);
      },
      part, total);
  if (ty == 0 && active)
    finish_statistics(s, p, mf, total[0], gamma, beta, mean, rstd, running_mean, running_var,
                      &s_affine[tx]);
  __syncthreads();
  if (!active) return;
  const float scale = s_affine[tx].x, shift = s_affine[tx].y;
  for (int64_t r = ty; r < n; r += kGroups)
    a[o + r * w] = leaky(__fmul_rn(h_at(r), scale) + shift, s.slope);
}

// grid (column tiles, row tiles, K), block (kEvalCols, kEvalGroups): element-wise, so the rows
// spread over blocks too.
__global__ void __launch_bounds__(kEvalCols* kEvalGroups)
    bn_act_eval(BatchNormShape s, const float* h, const float* bias, const float* gamma,
                const float* beta, const float* running_mean, const float* running_var, float* a) {
  const int w = s.width;
  const int64_t n = s.rows;
  const int col = static_cast<int>(blockIdx.x) * kEvalCols + static_cast<int>(threadIdx.x);
  if (col >= w) return;
  const int64_t p = static_cast<int64_t>(blockIdx.z) * w + col;
  const int64_t o = static_cast<int64_t>(blockIdx.z) * n * w + col;
  const float scale = gamma[p] / sqrtf(running_var[p] + s.eps);
  const float shift = beta[p] - __fmul_rn(running_mean[p], scale);
  const float b = bias ? bias[p] : 0.0f;
  for (int64_t r0 = static_cast<int64_t>(blockIdx.y) * kEvalRows; r0 < n;
       r0 += static_cast<int64_t>(gridDim.y) * kEvalRows) {
    const int64_t r1 = r0 + kEvalRows < n ? r0 + kEvalRows : n;
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kEvalGroups)
      a[o + r * w] = leaky(__fmul_rn(with_bias(h[o + r * w], bias, b), scale) + shift, s.slope);
  }
}

// grid (column tiles, K), block (Cols, kGroups).
template <int Cols>
__global__ void __launch_bounds__(Cols* kGroups)
    bn_act_backward(BatchNormShape s, const float* h, const float* bias, const float* a,
                    const float* gamma, const float* mean, const float* rstd, const float* da,
                    float* dh, float* dbias, float* dgamma, float* dbeta) {
  __shared__ float part[2][kGroups][Cols];
  __shared__ float s_coef[Cols], s_mb[Cols], s_mg[Cols];
  __shared__ double s_dbias[kGroups][Cols];
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int w = s.width;
  const int64_t n = s.rows;
  const int col = static_cast<int>(blockIdx.x) * Cols + tx;
  const bool active = col < w;
  const int64_t p = static_cast<int64_t>(blockIdx.y) * w + col;
  const int64_t o = static_cast<int64_t>(blockIdx.y) * n * w + col;
  const float mf = active ? mean[p] : 0.0f, rs = active ? rstd[p] : 0.0f;
  const float b = bias && active ? bias[p] : 0.0f;
  const float slope = s.slope;
  // The gradient at the BatchNorm output: the activation's slope is read off the sign of its
  // output, which is the sign of its input (the slope is positive). Rounded on its own: both
  // uses add to it (run[1] += dy, dy - mb), which nvcc would otherwise contract into an FMA.
  const auto dy_at = [&](int64_t i) { return __fmul_rn(da[i], a[i] > 0.0f ? 1.0f : slope); };
  double total[2];

  column_sums<2>(
      n, active,
      [&](int64_t r, float* run) {
        const int64_t i = o + r * w;
        const float dy = dy_at(i);
        const float xhat = (with_bias(h[i], bias, b) - mf) * rs;
        run[0] += __fmul_rn(dy, xhat);
        run[1] += dy;
      },
      part, total);
  if (ty == 0 && active) {
    dgamma[p] = static_cast<float>(total[0]);
    dbeta[p] = static_cast<float>(total[1]);
    const double inv_n = 1.0 / static_cast<double>(n);
    s_coef[tx] = gamma[p] * rs;
    s_mb[tx] = static_cast<float>(total[1] * inv_n);
    s_mg[tx] = static_cast<float>(total[0] * inv_n);
  }
  __syncthreads();
  // dh = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat)), and the bias gradient, the
  // column sum of dh: each group's rows in double, then the groups in order. Inactive lanes stay
  // for the barrier.
  double db = 0.0;
  if (active) {
    const float coef = s_coef[tx], mb = s_mb[tx], mg = s_mg[tx];
    for (int64_t r = ty; r < n; r += kGroups) {
      const int64_t i = o + r * w;
      const float xhat = (with_bias(h[i], bias, b) - mf) * rs;
      const float g = coef * (dy_at(i) - mb - __fmul_rn(xhat, mg));
      dh[i] = g;
      db += static_cast<double>(g);
    }
  }
  if (!dbias) return;  // uniform over the grid: every thread leaves here, or none
  s_dbias[ty][tx] = db;
  __syncthreads();
  if (ty == 0 && active) {
    for (int g = 1; g < kGroups; ++g) db += s_dbias[g][tx];
    dbias[p] = static_cast<float>(db);
  }
}

// kWide columns per block where that already gives every SM a block, kNarrow otherwise.
bool wide_blocks(const BatchNormShape& s, BatchNormBlocks blocks) {
  if (blocks != BatchNormBlocks::kAuto) return blocks == BatchNormBlocks::kColumns32;
  return (s.width + kWide - 1) / kWide * int64_t{s.K} >= multiprocessors();
}

// grid (column tiles, K), block (Cols, kGroups).
template <int Cols>
void launch_train(const BatchNormShape& s, const float* h, const float* bias, const float* gamma,
                  const float* beta, float* a, float* mean, float* rstd, float* running_mean,
                  float* running_var, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((s.width + Cols - 1) / Cols), static_cast<unsigned>(s.K));
  // One round of runs fits in registers: the kernel that reads h once.
  launch(s.rows <= kRound ? bn_act_train_resident<Cols> : bn_act_train<Cols>, grid,
         dim3(Cols, kGroups), 0,
         stream)(s, h, bias, gamma, beta, a, mean, rstd, running_mean, running_var);
}

template <int Cols>
void launch_backward(const BatchNormShape& s, const float* h, const float* bias, const float* a,
                     const float* gamma, const float* mean, const float* rstd, const float* da,
                     float* dh, float* dbias, float* dgamma, float* dbeta, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((s.width + Cols - 1) / Cols), static_cast<unsigned>(s.K));
  launch(bn_act_backward<Cols>, grid, dim3(Cols, kGroups), 0, stream)(
      s, h, bias, a, gamma, mean, rstd, da, dh, dbias, dgamma, dbeta);
}

bool empty(const BatchNormShape& s) { return s.K <= 0 || s.rows <= 0 || s.width <= 0; }

}  // namespace

inline namespace XENT_KERNELS_ABI {

void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* bias,
                                 const float* gamma, const float* beta, float* a, float* mean,
                                 float* rstd, float* running_mean, float* running_var,
                                 cudaStream_t stream, BatchNormBlocks blocks) {
  if (empty(s)) return;
  (wide_blocks(s, blocks) ? launch_train<kWide> : launch_train<kNarrow>)(s, h, bias, gamma, beta, a,
                                                                         mean, rstd, running_mean,
                                                                         running_var, stream);
  check_launch("bn_act_train");
}

void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* bias,
                                const float* gamma, const float* beta, const float* running_mean,
                                const float* running_var, float* a, cudaStream_t stream) {
  if (empty(s)) return;
  constexpr int64_t kMaxRowTiles = 65535;  // gridDim.y's limit; the kernel loops beyond it
  const int64_t row_tiles = std::min((s.rows + kEvalRows - 1) / kEvalRows, kMaxRowTiles);
  const dim3 grid(static_cast<unsigned>((s.width + kEvalCols - 1) / kEvalCols),
                  static_cast<unsigned>(row_tiles), static_cast<unsigned>(s.K));
  launch(bn_act_eval, grid, dim3(kEvalCols, kEvalGroups), 0, stream)(s, h, bias, gamma, beta,
                                                                     running_mean, running_var, a);
  check_launch("bn_act_eval");
}

void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* bias,
                            const float* a, const float* gamma, const float* mean,
                            const float* rstd, const float* da, float* dh, float* dbias,
                            float* dgamma, float* dbeta, cudaStream_t stream,
                            BatchNormBlocks blocks) {
  if (empty(s)) return;
  (wide_blocks(s, blocks) ? launch_backward<kWide>
                          : launch_backward<kNarrow>)(s, h, bias, a, gamma, mean, rstd, da, dh,
                                                      dbias, dgamma, dbeta, stream);
  check_launch("bn_act_backward");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
