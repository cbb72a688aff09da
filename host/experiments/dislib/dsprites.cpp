#include "xent/dsprites.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "xent/dislib.h"

namespace xent::dsprites {
namespace {

struct Point {
  double x, y;
};
using Outline = std::vector<Point>;

// Outlines in units of the half-size, y up, centred on the bounding box's centre.
Outline square_outline() { return {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}}; }

Outline ellipse_outline() {
  constexpr int kVertices = 64;
  Outline o;
  for (int i = 0; i < kVertices; ++i) {
    const double t = 2 * std::numbers::pi * i / kVertices;
    o.push_back({std::cos(t), 0.5 * std::sin(t)});
  }
  return o;
}

// The classic parametric heart (lobes up, tip down). The right half is computed and mirrored,
// so that the outline is exactly symmetric about the vertical axis.
Outline heart_outline() {
  constexpr int kHalf = 48;
  Outline right;
  for (int i = 0; i <= kHalf; ++i) {
    const double t = std::numbers::pi * i / kHalf;
    const double s = std::sin(t);
    right.push_back(
        {s * s * s,
         (13 * std::cos(t) - 5 * std::cos(2 * t) - 2 * std::cos(3 * t) - std::cos(4 * t)) / 16});
  }
  double lo = right[0].y, hi = right[0].y, wide = 0;
  for (const Point& p : right) {
    lo = std::min(lo, p.y);
    hi = std::max(hi, p.y);
    wide = std::max(wide, p.x);
  }
  const double mid = (lo + hi) / 2, half = std::max(wide, (hi - lo) / 2);
  Outline o;
  for (const Point& p : right) o.push_back({p.x / half, (p.y - mid) / half});
  // Down the left side, leaving out the two points on the axis (t = 0 and t = pi).
  for (int i = kHalf - 1; i >= 1; --i) o.push_back({-o[i].x, o[i].y});
  return o;
}

// Even-odd rule with half-open edges, so that a vertex on the ray counts once.
bool inside(const Outline& o, double x, double y) {
  bool in = false;
  for (size_t i = 0, j = o.size() - 1; i < o.size(); j = i++) {
    const Point& a = o[i];
    const Point& b = o[j];
    if ((a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y)) in = !in;
  }
  return in;
}

}  // namespace

const char* const kTargetNames[kTargets] = {"shape",           "scale", "orientation_cos",
                                            "orientation_sin", "pos_x", "pos_y"};

Factors factors_of(int64_t image) {
  Factors f;
  f.pos_y = static_cast<int>(image % kPositions);
  image /= kPositions;
  f.pos_x = static_cast<int>(image % kPositions);
  image /= kPositions;
  f.orientation = static_cast<int>(image % kOrientations);
  image /= kOrientations;
  f.scale = static_cast<int>(image % kScales);
  f.shape = static_cast<int>(image / kScales);
  return f;
}

int64_t image_of(const Factors& f) {
  return (int64_t{sprite_of(f)} * kPositions + f.pos_x) * kPositions + f.pos_y;
}

double scale_value(int i) { return 0.5 + 0.5 * i / (kScales - 1); }
double orientation_value(int i) { return 2 * std::numbers::pi * i / (kOrientations - 1); }
double position_value(int i) { return static_cast<double>(i) / (kPositions - 1); }

std::vector<uint8_t> render_masks() {
  const Outline outlines[kShapes] = {square_outline(), ellipse_outline(), heart_outline()};
  std::vector<uint8_t> masks(static_cast<size_t>(kSprites) * kCanvas * kCanvas);
  for (int shape = 0; shape < kShapes; ++shape)
    for (int scale = 0; scale < kScales; ++scale)
      for (int orient = 0; orient < kOrientations; ++orient) {
        const double r = kBaseHalfSize * scale_value(scale), a = orientation_value(orient);
        const double c = std::cos(a), s = std::sin(a);
        uint8_t* m = masks.data() + static_cast<size_t>(sprite_of({shape, scale, orient, 0, 0})) *
                                        kCanvas * kCanvas;
        for (int row = 0; row < kCanvas; ++row)
          for (int col = 0; col < kCanvas; ++col) {
            // The pixel's centre relative to the sprite's centre, y up; rotating it back by
            // the orientation tests it against the upright outline.
            const double x = col + 0.5 - kCanvas / 2, y = kCanvas / 2 - (row + 0.5);
            const double u = (c * x + s * y) / r, v = (-s * x + c * y) / r;
            m[row * kCanvas + col] = inside(outlines[shape], u, v) ? 1 : 0;
          }
      }
  return masks;
}

void probe_targets(int64_t image, double* out) {
  static const dislib::Moments shape = dislib::moments(kShapes, [](int i) { return double(i); });
  static const dislib::Moments scale = dislib::moments(kScales, scale_value);
  // Over the 40 listed orientations, each as frequent as the others (the last repeats the
  // first, as in the original).
  static const dislib::Moments cosine =
      dislib::moments(kOrientations, [](int i) { return std::cos(orientation_value(i)); });
  static const dislib::Moments sine =
      dislib::moments(kOrientations, [](int i) { return std::sin(orientation_value(i)); });
  static const dislib::Moments pos = dislib::moments(kPositions, position_value);
  const Factors f = factors_of(image);
  const double a = orientation_value(f.orientation);
  out[0] = (f.shape - shape.mean) / shape.sd;
  out[1] = (scale_value(f.scale) - scale.mean) / scale.sd;
  out[2] = (std::cos(a) - cosine.mean) / cosine.sd;
  out[3] = (std::sin(a) - sine.mean) / sine.sd;
  out[4] = (position_value(f.pos_x) - pos.mean) / pos.sd;
  out[5] = (position_value(f.pos_y) - pos.mean) / pos.sd;
}

}  // namespace xent::dsprites
