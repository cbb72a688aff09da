#include "io/chart.h"

// stb_easy_font is a header of static functions, compiled here; its own code converts int to
// float implicitly, and this file uses two of its functions.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop
#include <stb_image_write.h>

#include <algorithm>
#include <cmath>

#include "xent/error.h"

namespace xent {
namespace {

// The font's line height in font units (stb_easy_font advances 12 a line).
constexpr int kLineUnits = 12;

// The font covers printable ASCII only: anything else is drawn as '?'.
std::string printable(const std::string& s) {
  std::string out = s;
  for (char& ch : out)
    if (ch < 32 || ch > 126) ch = '?';
  return out;
}

}  // namespace

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  if (width <= 0 || height <= 0) throw InputError("a figure needs a positive size");
  rgb_.resize(static_cast<size_t>(width) * height * 3);
  for (size_t i = 0; i < rgb_.size(); i += 3) {
    rgb_[i] = background.r;
    rgb_[i + 1] = background.g;
    rgb_[i + 2] = background.b;
  }
}

Rgb Canvas::at(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * width_ + x) * 3;
  return {rgb_[i], rgb_[i + 1], rgb_[i + 2]};
}

void Canvas::fill(int x0, int y0, int x1, int y1, Rgb c) {
  x0 = std::max(x0, 0);
  y0 = std::max(y0, 0);
  x1 = std::min(x1, width_);
  y1 = std::min(y1, height_);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      uint8_t* p = rgb_.data() + (static_cast<size_t>(y) * width_ + x) * 3;
      p[0] = c.r;
      p[1] = c.g;
      p[2] = c.b;
    }
}

void Canvas::hline(int x0, int x1, int y, Rgb c, int dash) {
  if (x1 < x0) std::swap(x0, x1);
  if (dash <= 0) return fill(x0, y, x1 + 1, y + 1, c);
  for (int x = x0; x <= x1; x += 2 * dash) fill(x, y, std::min(x + dash, x1 + 1), y + 1, c);
}

void Canvas::vline(int x, int y0, int y1, Rgb c) {
  if (y1 < y0) std::swap(y0, y1);
  fill(x, y0, x + 1, y1 + 1, c);
}

void Canvas::disc(double cx, double cy, double radius, Rgb c) {
  const int x0 = static_cast<int>(std::floor(cx - radius)),
            x1 = static_cast<int>(std::ceil(cx + radius));
  const int y0 = static_cast<int>(std::floor(cy - radius)),
            y1 = static_cast<int>(std::ceil(cy + radius));
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      const double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
      if (dx * dx + dy * dy <= radius * radius) fill(x, y, x + 1, y + 1, c);
    }
}

std::vector<int> Canvas::quads(const std::string& s) {
  std::string text = printable(s);
  // stb_easy_font writes 4 vertices of 16 bytes a quad, about 270 bytes a character.
  std::vector<char> buffer(300 * (text.size() + 1));
  const int n = stb_easy_font_print(0.0f, 0.0f, text.data(), nullptr, buffer.data(),
                                    static_cast<int>(buffer.size()));
  std::vector<int> out;
  for (int q = 0; q < n; ++q) {
    float v[4][4];  // x, y, z, colour bytes: the first and third vertex span the quad
    std::copy_n(buffer.data() + q * 64, 64, reinterpret_cast<char*>(v));
    // The font's quads lie on whole units.
    for (const float u : {v[0][0], v[0][1], v[2][0], v[2][1]})
      out.push_back(static_cast<int>(std::lround(u)));
  }
  return out;
}

void Canvas::text(int x, int y, const std::string& s, Rgb c, int scale, Align a) {
  const int w = text_width(s, scale);
  const int left = a == Align::kLeft ? x : a == Align::kCenter ? x - w / 2 : x - w;
  const std::vector<int> q = quads(s);
  for (size_t i = 0; i < q.size(); i += 4)
    fill(left + q[i] * scale, y + q[i + 1] * scale, left + q[i + 2] * scale, y + q[i + 3] * scale,
         c);
}

void Canvas::text_up(int x, int y, const std::string& s, Rgb c, int scale) {
  // Font coordinates (u along the text, v down the glyphs) turn to x = left + v, y = base - u.
  const int base = y + text_width(s, scale), left = x - text_height(scale) / 2;
  const std::vector<int> q = quads(s);
  for (size_t i = 0; i < q.size(); i += 4)
    fill(left + q[i + 1] * scale, base - q[i + 2] * scale, left + q[i + 3] * scale,
         base - q[i] * scale, c);
}

int Canvas::text_width(const std::string& s, int scale) {
  std::string text = printable(s);
  return stb_easy_font_width(text.data()) * scale;
}

int Canvas::text_height(int scale) { return kLineUnits * scale; }

void Canvas::write_png(const std::string& path) const {
  if (!stbi_write_png(path.c_str(), width_, height_, 3, rgb_.data(), width_ * 3))
    throw InputError(path + ": cannot write the PNG (does its directory exist?)");
}

}  // namespace xent
