// dSprites batches from the sprite masks: each image is its sprite's mask placed at the image's
// position, on a black frame (include/xent/dsprites.h).
#include <algorithm>

#include "cpu/ops.h"
#include "xent/dsprites.h"

namespace xent::cpu {

void render_sprites(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                    int64_t period, int64_t n, float* images, int32_t* labels, ThreadPool& pool) {
  using namespace dsprites;
  const int64_t first = batches_done ? (*batches_done % period) * n : 0;
  // Images are independent; threads take blocks of at least 16 (16 x 16 KB written).
  pool.run(n, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const Factors f = factors_of(index[first + r]);
      const uint8_t* m = masks + static_cast<int64_t>(sprite_of(f)) * kCanvas * kCanvas;
      float* img = images + r * kPixels;
      std::fill(img, img + kPixels, 0.0f);
      for (int y = 0; y < kCanvas; ++y)
        for (int x = 0; x < kCanvas; ++x)
          img[(f.pos_y + y) * kSide + f.pos_x + x] = m[y * kCanvas + x];
      if (labels) labels[r] = f.shape;
    }
  });
}

}  // namespace xent::cpu
