#include "io/png.h"

#include <stb_image_write.h>

#include "xent/error.h"

namespace xent {

ImageSheet::ImageSheet(int count, int cols, int side, int channels)
    : cols_(cols), side_(side), channels_(channels) {
  const int rows = (count + cols - 1) / cols, cell = side + 1;
  width_ = cols * cell + 1;
  height_ = rows * cell + 1;
  constexpr uint8_t kBorder = 96;
  bytes_.assign(static_cast<size_t>(width_) * height_ * channels_, kBorder);
}

void ImageSheet::write_png(const std::string& path) const {
  if (!stbi_write_png(path.c_str(), width_, height_, channels_, bytes_.data(), width_ * channels_))
    throw InputError(path + ": cannot write the PNG (does its directory exist?)");
}

}  // namespace xent
