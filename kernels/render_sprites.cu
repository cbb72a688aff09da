// One block per image, each thread float4s of four adjacent pixels: a pure copy from a 1 KiB
// mask, so the store bandwidth is all that counts.
#include "compat.cuh"
//
#include "check.cuh"
#include "render_sprites.h"
#include "xent/dsprites.h"

namespace xent::kernels {
namespace {

using namespace xent::dsprites;
constexpr int kThreads = 256;
constexpr int kQuads = kPixels / 4;  // float4s per image

__global__ void __launch_bounds__(kThreads)
    render_sprites_kernel(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                          int64_t period, float* images, int32_t* labels) {
  const int64_t r = blockIdx.x;
  const int64_t first = batches_done ? (*batches_done % period) * gridDim.x : 0;
  // The factors of image number i (include/xent/dsprites.h: posY fastest, shape slowest).
  int64_t i = index[first + r];
  const int pos_y = static_cast<int>(i % kPositions);
  i /= kPositions;
  const int pos_x = static_cast<int>(i % kPositions);
  const int64_t sprite = i / kPositions;
  const uint8_t* m = masks + sprite * kCanvas * kCanvas;
  float4* out = reinterpret_cast<float4*>(images + r * kPixels);
  for (int q = static_cast<int>(threadIdx.x); q < kQuads; q += kThreads) {
    const int y = 4 * q / kSide - pos_y, x0 = 4 * q % kSide - pos_x;
    float v[4];
    for (int k = 0; k < 4; ++k) {
      const int x = x0 + k;
      v[k] = y >= 0 && y < kCanvas && x >= 0 && x < kCanvas ? m[y * kCanvas + x] : 0.0f;
    }
    out[q] = {v[0], v[1], v[2], v[3]};
  }
  if (labels && threadIdx.x == 0)
    labels[r] = static_cast<int32_t>(sprite / (kScales * kOrientations));
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void render_sprites(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                    int64_t period, int64_t n, float* images, int32_t* labels,
                    cudaStream_t stream) {
  if (n <= 0) return;
  launch(render_sprites_kernel, dim3(static_cast<unsigned>(n)), dim3(kThreads), 0, stream)(
      masks, index, batches_done, period, images, labels);
  check_launch("render_sprites");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
