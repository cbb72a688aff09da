// One block per image, each thread float4s of four adjacent pixels in each channel: two table
// look-ups in shared memory and one multiply a value, so the store bandwidth is all that
// counts (48 KiB written an image from 8 KiB of its view).
#include "compat.cuh"
//
#include "check.cuh"
#include "render_shapes3d.h"
#include "xent/shapes3d.h"

namespace xent::kernels {
namespace {

using namespace xent::shapes3d;
constexpr int kThreads = 256;
constexpr int kQuads = kPixels / 4;  // float4s per channel

__global__ void __launch_bounds__(kThreads)
    render_shapes3d_kernel(const uint8_t* views, const int32_t* index, const int64_t* batches_done,
                           int64_t period, float* images, int32_t* labels) {
  __shared__ float shade[kLevels];
  __shared__ float colour[kChannels][3];  // [channel][Surface]
  const int64_t r = blockIdx.x;
  const int64_t first = batches_done ? (*batches_done % period) * gridDim.x : 0;
  // The factors of image number i (include/xent/shapes3d.h: the view is the fastest part).
  const int64_t i = index[first + r];
  const int64_t view = i % kViews, hues = i / kViews;
  const int t = static_cast<int>(threadIdx.x);
  const float* tables = reinterpret_cast<const float*>(views + kTablesOffset);
  for (int l = t; l < kLevels; l += kThreads) shade[l] = tables[kShadeTable + l];
  if (t < kChannels * 3) {
    const int c = t / 3, surface = t % 3;
    const int64_t hue = surface == kFloor  ? hues / (kHues * kHues)
                        : surface == kWall ? hues / kHues % kHues
                                           : hues % kHues;
    colour[c][surface] = tables[kHueTable + hue * kChannels + c];
  }
  __syncthreads();
  const uchar4* surfaces = reinterpret_cast<const uchar4*>(views + view * kViewBytes);
  const uchar4* levels = surfaces + kQuads;
  float4* out = reinterpret_cast<float4*>(images + r * kValues);
  for (int q = t; q < kQuads; q += kThreads) {
    const uchar4 s = surfaces[q], l = levels[q];
    const float a = shade[l.x], b = shade[l.y], c = shade[l.z], d = shade[l.w];
    for (int k = 0; k < kChannels; ++k)
      out[k * kQuads + q] = {colour[k][s.x] * a, colour[k][s.y] * b, colour[k][s.z] * c,
                             colour[k][s.w] * d};
  }
  if (labels && t == 0) labels[r] = static_cast<int32_t>(view / kOrientations % kShapes);
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void render_shapes3d(const uint8_t* views, const int32_t* index, const int64_t* batches_done,
                     int64_t period, int64_t n, float* images, int32_t* labels,
                     cudaStream_t stream) {
  if (n <= 0) return;
  launch(render_shapes3d_kernel, dim3(static_cast<unsigned>(n)), dim3(kThreads), 0, stream)(
      views, index, batches_done, period, images, labels);
  check_launch("render_shapes3d");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
