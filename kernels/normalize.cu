// Row normalisation. Rows are short (d = 2..20 for latents) or up to a few thousand (rows of
// W in wide heads), so a row belongs to a group of lanes of one warp: the smallest power of two
// that covers the row, at most the whole warp. Short rows then pack several to a warp instead
// of idling most of its lanes. A butterfly within the group reduces in a fixed order.
#include "compat.cuh"
//
#include "check.cuh"
#include "grid.cuh"
#include "normalize.h"
#include "reduce.cuh"

namespace xent::kernels {
namespace {

constexpr int kThreads = 256;

// Sum over the `group` lanes (a power of two) that share a row; every lane gets the total,
// bit for bit the same (each pairwise add is commutative). The whole warp must call it.
__device__ __forceinline__ double group_sum(double v, int group) {
  for (int offset = group / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// The loop over a warp's rows is uniform across the warp, so that every lane reaches the
// shuffles; lanes past the last row carry zeros.
__global__ void __launch_bounds__(kThreads)
    normalize_forward(int64_t rows, int width, int group, const float* x, float* y, float* norms) {
  const int lane = static_cast<int>(threadIdx.x) % 32, sub = lane % group;
  const int per_warp = 32 / group;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x / 32 * per_warp;
  for (int64_t base = warp * per_warp; base < rows; base += stride) {
    const int64_t r = base + lane / group;
    const bool valid = r < rows;
    const int64_t o = r * width;
    double sq = 0.0;
    // Each product of two floats is exact in double, so an FMA here rounds as the CPU does.
    if (valid)
      for (int c = sub; c < width; c += group) {
        const double v = x[o + c];
        sq += v * v;
      }
    sq = group_sum(sq, group);
    if (!valid) continue;
    const double len = sqrt(sq);
    // A zero row stays zero; std::max's comparison, so that a NaN norm stays NaN.
    const float nrm = static_cast<float>(len < 1e-12 ? 1e-12 : len);
    if (norms && sub == 0) norms[r] = nrm;
    // Each lane rewrites only the elements it read, so y may alias x.
    for (int c = sub; c < width; c += group) y[o + c] = x[o + c] / nrm;
  }
}

__global__ void __launch_bounds__(kThreads)
    normalize_backward(int64_t rows, int width, int group, const float* y, const float* norms,
                       const float* dy, float* dx) {
  const int lane = static_cast<int>(threadIdx.x) % 32, sub = lane % group;
  const int per_warp = 32 / group;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x / 32 * per_warp;
  for (int64_t base = warp * per_warp; base < rows; base += stride) {
    const int64_t r = base + lane / group;
    const bool valid = r < rows;
    const int64_t o = r * width;
    double dot = 0.0;
    if (valid)
      for (int c = sub; c < width; c += group)
        dot += static_cast<double>(y[o + c]) * static_cast<double>(dy[o + c]);
    dot = group_sum(dot, group);
    if (!valid) continue;
    const double nrm = norms[r];
    // d(x/|x|) = (I - y y^T) / |x|; the product is rounded before the subtraction, as on the CPU.
    for (int c = sub; c < width; c += group)
      dx[o + c] = static_cast<float>((dy[o + c] - __dmul_rn(dot, y[o + c])) / nrm);
  }
}

int lane_group(int width) {
  int group = 1;
  while (group < width && group < 32) group *= 2;
  return group;
}

// The kernels loop beyond one wave of the device; a row is one lane group's work wherever it
// lands, so the grid size changes no bits.
unsigned blocks(int64_t rows, int group) { return stride_blocks(rows, kThreads / group); }

}  // namespace

inline namespace XENT_KERNELS_ABI {

void normalize_rows_forward(int64_t rows, int width, const float* x, float* y, float* norms,
                            cudaStream_t stream) {
  // width 0 still writes the floor norms, as the CPU does.
  if (rows <= 0) return;
  const int group = lane_group(width);
  launch(normalize_forward, dim3(blocks(rows, group)), dim3(kThreads), 0, stream)(
      rows, width, group, x, y, norms);
  check_launch("normalize_forward");
}

void normalize_rows_backward(int64_t rows, int width, const float* y, const float* norms,
                             const float* dy, float* dx, cudaStream_t stream) {
  if (rows <= 0 || width <= 0) return;
  const int group = lane_group(width);
  launch(normalize_backward, dim3(blocks(rows, group)), dim3(kThreads), 0, stream)(
      rows, width, group, y, norms, dy, dx);
  check_launch("normalize_backward");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
