// The contact sheet: a PNG a person can look at to check the renderer.
#include "cpu/ops.h"
#include "io/png.h"
#include "xent/dsprites.h"
#include "xent/error.h"

namespace xent::dsprites {

void write_contact_sheet(const std::string& path, const std::vector<uint8_t>& masks,
                         const std::vector<int64_t>& images, int cols) {
  if (images.empty() || cols < 1) throw InputError(path + ": no images for the contact sheet");
  const int n = static_cast<int>(images.size());
  std::vector<int32_t> index(images.begin(), images.end());
  std::vector<float> pixels(static_cast<size_t>(n) * kPixels);
  cpu::render_sprites(masks.data(), index.data(), nullptr, 1, n, pixels.data(), nullptr);
  constexpr uint8_t kInk = 255;
  ImageSheet sheet(n, cols, kSide, 1);
  for (int i = 0; i < n; ++i) {
    const float* img = pixels.data() + static_cast<size_t>(i) * kPixels;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) *sheet.pixel(i, y, x) = img[y * kSide + x] > 0 ? kInk : 0;
  }
  sheet.write_png(path);
}

}  // namespace xent::dsprites
