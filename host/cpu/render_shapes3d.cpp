// 3D Shapes batches from the views: each pixel of each channel is its surface's hue channel
// times its shade, one float multiply (include/xent/shapes3d.h).
#include <cstring>

#include "cpu/ops.h"
#include "xent/shapes3d.h"

namespace xent::cpu {

void render_shapes3d(const uint8_t* views, const int32_t* index, const int64_t* batches_done,
                     int64_t period, int64_t n, float* images, int32_t* labels, ThreadPool& pool) {
  using namespace shapes3d;
  const int64_t first = batches_done ? (*batches_done % period) * n : 0;
  float hue[kHues][kChannels], shade[kLevels];
  std::memcpy(hue, views + kTablesOffset + kHueTable * sizeof(float), sizeof hue);
  std::memcpy(shade, views + kTablesOffset + kShadeTable * sizeof(float), sizeof shade);
  // Images are independent; threads take blocks of at least 16 (16 x 48 KB written). Each pixel
  // is read once and written to the three channel planes.
  pool.run(n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const Factors f = factors_of(index[first + r]);
      const uint8_t* surface = views + view_of(f) * kViewBytes;
      const uint8_t* level = surface + kPixels;
      const int hues[3] = {f.floor_hue, f.wall_hue, f.object_hue};  // by Surface
      float colour[3][kChannels];                                   // [Surface][channel]
      for (int k = 0; k < 3; ++k)
        for (int c = 0; c < kChannels; ++c) colour[k][c] = hue[hues[k]][c];
      float* out = images + r * kValues;
      for (int p = 0; p < kPixels; ++p) {
        const float* rgb = colour[surface[p]];
        const float s = shade[level[p]];
        out[p] = rgb[0] * s;
        out[kPixels + p] = rgb[1] * s;
        out[2 * kPixels + p] = rgb[2] * s;
      }
      if (labels) labels[r] = f.shape;
    }
  });
}

}  // namespace xent::cpu
