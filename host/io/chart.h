// A raster canvas for the figures the CLI writes itself (no Python needed): filled rectangles,
// horizontal and vertical lines, discs, and text in stb_easy_font's built-in bitmap font,
// upright or turned to read upwards. Coordinates are pixels, x rightwards, y downwards.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xent {

struct Rgb {
  uint8_t r, g, b;
};

enum class Align { kLeft, kCenter, kRight };

class Canvas {
 public:
  Canvas(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  Rgb at(int x, int y) const;

  // The pixels [x0, x1) x [y0, y1), clipped to the canvas.
  void fill(int x0, int y0, int x1, int y1, Rgb c);
  void hline(int x0, int x1, int y, Rgb c, int dash = 0);  // dash > 0: dashes of that length
  void vline(int x, int y0, int y1, Rgb c);
  void disc(double cx, double cy, double radius, Rgb c);

  // Text with its top at y, aligned on x; `scale` pixels per font unit. One line of text is
  // text_height(scale) pixels tall.
  void text(int x, int y, const std::string& s, Rgb c, int scale = 1, Align a = Align::kLeft);
  // Text turned a quarter counter-clockwise (it reads upwards), its last character's end at y,
  // centred on x: a label under a tick, or an axis title on the left.
  void text_up(int x, int y, const std::string& s, Rgb c, int scale = 1);
  static int text_width(const std::string& s, int scale = 1);
  static int text_height(int scale = 1);

  // Throws InputError naming the file when it cannot be written.
  void write_png(const std::string& path) const;

 private:
  // The font's quads for s at the origin, as [u0, v0, u1, v1] in font units.
  static std::vector<int> quads(const std::string& s);

  int width_, height_;
  std::vector<uint8_t> rgb_;
};

}  // namespace xent
