// The contact sheet: a PNG a person can look at to check the renderer.
#include <stb_image_write.h>

#include "cpu/ops.h"
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
  const int rows = (n + cols - 1) / cols, cell = kSide + 1;
  const int width = cols * cell + 1, height = rows * cell + 1;
  constexpr uint8_t kBorder = 96, kInk = 255;
  std::vector<uint8_t> sheet(static_cast<size_t>(width) * height, kBorder);
  for (int i = 0; i < n; ++i) {
    const float* img = pixels.data() + static_cast<size_t>(i) * kPixels;
    const int top = 1 + (i / cols) * cell, left = 1 + (i % cols) * cell;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x)
        sheet[static_cast<size_t>(top + y) * width + left + x] = img[y * kSide + x] > 0 ? kInk : 0;
  }
  if (!stbi_write_png(path.c_str(), width, height, 1, sheet.data(), width))
    throw InputError(path + ": cannot write the PNG (does its directory exist?)");
}

}  // namespace xent::dsprites
