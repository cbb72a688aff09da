#include "experiments/dislib/contact_sheet.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "io/png.h"
#include "xent/dsprites.h"
#include "xent/shapes3d.h"

namespace xent::dislib {
namespace {

std::vector<int32_t> dsprites_images() {
  using namespace xent::dsprites;
  std::vector<int32_t> images;
  const auto add = [&](const Factors& f) { images.push_back(static_cast<int32_t>(image_of(f))); };
  for (int shape = 0; shape < kShapes; ++shape)
    for (int scale = 0; scale < kScales; ++scale) {
      for (int o = 0; o < 40; o += 4) add({shape, scale, o, 15, 15});
      add({shape, scale, 0, 0, 0});
      add({shape, scale, 0, kPositions - 1, kPositions - 1});
    }
  return images;
}

std::vector<int32_t> shapes3d_images() {
  using namespace xent::shapes3d;
  // The hues, scale and orientation that a cell keeps unless its row varies them.
  constexpr int kFloorHue = 5, kWallHue = 7, kObjectHue = 0, kScale = 4, kFront = 7;
  const int scales[4] = {0, 2, 5, 7}, orientations[6] = {0, 3, 6, 8, 11, 14};
  std::vector<int32_t> images;
  const auto add = [&](const Factors& f) { images.push_back(static_cast<int32_t>(image_of(f))); };
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
  return images;
}

}  // namespace

void write_contact_sheet(Backend& b, const Dataset& d, const std::string& path) {
  const bool rgb = d.id == DatasetId::Shapes3d;
  const std::vector<int32_t> index = rgb ? shapes3d_images() : dsprites_images();
  const auto n = static_cast<int64_t>(index.size());
  const std::vector<uint8_t> host = d.tables();
  DeviceArray<uint8_t> tables(b, host.size());
  tables.upload(host);
  DeviceArray<int32_t> images_index(b, index.size());
  images_index.upload(index);
  DeviceArray<float> images(b, static_cast<size_t>(n) * d.values);
  render(b, d, tables.data(), images_index.data(), nullptr, 1, n, images.data(), nullptr);
  const std::vector<float> pixels = images.download();

  // Both datasets' images are 64 x 64; 3D Shapes' channel-major.
  constexpr int kSide = dsprites::kSide, kPixels = kSide * kSide;
  static_assert(shapes3d::kSide == kSide);
  const int channels = rgb ? shapes3d::kChannels : 1;
  ImageSheet sheet(static_cast<int>(n), rgb ? 10 : 12, kSide, channels);
  for (int64_t i = 0; i < n; ++i) {
    const float* img = pixels.data() + i * d.values;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x)
        for (int c = 0; c < channels; ++c) {
          const float v = img[c * kPixels + y * kSide + x];
          // dSprites' pixels are 0 or 1; 3D Shapes' colours lie in [0, 1].
          sheet.pixel(static_cast<int>(i), y, x)[c] =
              rgb ? static_cast<uint8_t>(std::lround(v * 255)) : (v > 0 ? 255 : 0);
        }
  }
  sheet.write_png(path);
}

}  // namespace xent::dislib
