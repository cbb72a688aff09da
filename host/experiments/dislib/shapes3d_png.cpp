// The contact sheet: a PNG a person can look at to check the renderer (the layout is in
// include/xent/shapes3d.h).
#include <cmath>

#include "cpu/ops.h"
#include "io/png.h"
#include "xent/shapes3d.h"

namespace xent::shapes3d {

void write_contact_sheet(const std::string& path) {
  constexpr int kCols = 10;
  // The hues, scale and orientation that a cell keeps unless its row varies them.
  constexpr int kFloorHue = 5, kWallHue = 7, kObjectHue = 0, kScale = 4, kFront = 7;
  const int scales[4] = {0, 2, 5, 7}, orientations[6] = {0, 3, 6, 8, 11, 14};
  std::vector<int32_t> index;
  const auto add = [&](const Factors& f) { index.push_back(static_cast<int32_t>(image_of(f))); };
  for (int shape = 0; shape < kShapes; ++shape) {
    for (const int s : scales) add({kFloorHue, kWallHue, kObjectHue, s, shape, kFront});
    for (const int o : orientations) add({kFloorHue, kWallHue, kObjectHue, kScale, shape, o});
  }
  for (int surface = 0; surface < 3; ++surface)
    for (int h = 0; h < kHues; ++h) {
      Factors f{kFloorHue, kWallHue, kObjectHue, kScale, h % kShapes, kFront};
      (surface == kFloor ? f.floor_hue : surface == kWall ? f.wall_hue : f.object_hue) = h;
      add(f);
    }
  const int n = static_cast<int>(index.size());
  const std::vector<uint8_t> views = render_views();
  std::vector<float> images(static_cast<size_t>(n) * kValues);
  cpu::render_shapes3d(views.data(), index.data(), nullptr, 1, n, images.data(), nullptr);
  ImageSheet sheet(n, kCols, kSide, kChannels);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x)
        for (int c = 0; c < kChannels; ++c) {
          const float v = images[static_cast<size_t>(i) * kValues + c * kPixels + y * kSide + x];
          sheet.pixel(i, y, x)[c] = static_cast<uint8_t>(std::lround(v * 255));
        }
  sheet.write_png(path);
}

}  // namespace xent::shapes3d
