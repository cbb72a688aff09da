// The reductions behind the linear probes (xent::probe_linear, include/xent/metrics.h) on the
// device: column means, the moment matrix that the normal equations solve, the residual sums of
// R^2, and the Pearson correlations of MCC. Features and targets are float; every sum is
// accumulated in double, per block over a chunk of rows, and the chunks are then added in a fixed
// order by a second kernel, so results are the same bits run to run (no atomics).
//
// Shapes, K replicas in one launch: x [K][n][p], y [K][n][q] (row-major, replica after replica);
// each call reduces rows [begin, end) of every replica (0 <= begin < end <= n): the fitting or
// the scoring part of the rows (an empty range writes nothing). `scratch` is device memory of at
// least the matching *_scratch(...) doubles; its contents on entry do not matter and it may be
// reused once the stream has run the call. The CPU twins (host/cpu/ops.h) take the same arguments
// less scratch and stream.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// Doubles of scratch each launcher below needs, for rows = end - begin. The sizes never shrink
// as rows, K, cols or q grow, and full_xx = true needs at least as much as false, so one
// buffer sized for all n rows serves every range of a probe.
int64_t probe_column_means_scratch(int K, int64_t rows, int cols);
int64_t probe_moments_scratch(int K, int64_t rows, int p, int q, bool full_xx);
int64_t probe_residuals_scratch(int K, int64_t rows, int q);

// mean [K][cols]: the column means of a [K][n][cols] over rows [begin, end). For float data a
// column that is constant on the rows gets its value exactly (every partial sum is an exact
// multiple of it), so centred sums of squares of a constant column are exactly 0.
void probe_column_means(int K, int64_t n, int cols, const float* a, int64_t begin, int64_t end,
                        double* mean, double* scratch, cudaStream_t stream);

// The moment matrix of Z = [X - xshift | Y - yshift] over rows [begin, end):
// gram [K][w][w], w = p + q, gram = Z^T Z, symmetric. Its blocks are X^T X (rows and columns
// [0, p)), X^T Y (rows [0, p), columns [p, w)) and Y^T Y. The shifts [K][p] and [K][q] are the
// fitting rows' means for the regression with intercept, or null (zero) for the one without.
// full_xx false skips the off-diagonal entries of the X^T X block (they stay as they were; its
// diagonal is still written): what the correlations need, without the p^2 work of a wide probe.
void probe_moments(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                   int64_t end, const double* xshift, const double* yshift, bool full_xx,
                   double* gram, double* scratch, cudaStream_t stream);

// Per target column k, over rows [begin, end), with the prediction
//   pred_k = yshift_k + sum_j (x_j - xshift_j) map[j][k]    (map [K][p][q])
// as probe_linear predicts: ss_res [K][q] = sum (y_k - pred_k)^2 and
// ss_tot [K][q] = sum (y_k - ymean_k)^2, ymean [K][q] being the same rows' column means.
// xshift and yshift may be null (zero: the regression without intercept).
void probe_residuals(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                     int64_t end, const double* map, const double* xshift, const double* yshift,
                     const double* ymean, double* ss_res, double* ss_tot, double* scratch,
                     cudaStream_t stream);

// r [K][p][q]: Pearson correlations of the X and Y columns from a centred moment matrix
// (probe_moments shifted by the same rows' column means; full_xx may be false). As in
// probe_linear, a constant column (zero sum of squares) has no correlation and gets 0, and
// rounding past +-1 is clamped.
void probe_correlations(int K, int p, int q, const double* gram, double* r, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
