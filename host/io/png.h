// PNG contact sheets: equal square images in a grid, for a person to check a renderer by eye.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xent {

// `count` cells of side x side pixels, `cols` a row, with a one-pixel grey (96) border around
// and between them; 1 (grey) or 3 (RGB) 8-bit channels a pixel. Cells start grey too.
class ImageSheet {
 public:
  ImageSheet(int count, int cols, int side, int channels);

  int width() const { return width_; }
  int height() const { return height_; }
  // The `channels` bytes of pixel (y, x) of cell `cell` (row y from the top).
  uint8_t* pixel(int cell, int y, int x) {
    const int top = 1 + (cell / cols_) * (side_ + 1), left = 1 + (cell % cols_) * (side_ + 1);
    return bytes_.data() + (static_cast<size_t>(top + y) * width_ + left + x) * channels_;
  }
  // Throws InputError naming the file when it cannot be written.
  void write_png(const std::string& path) const;

 private:
  int cols_, side_, channels_, width_, height_;
  std::vector<uint8_t> bytes_;
};

}  // namespace xent
