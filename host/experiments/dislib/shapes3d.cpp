#include "xent/shapes3d.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "xent/dislib.h"

namespace xent::shapes3d {
namespace {

// The scene of the header's comment.
constexpr double kWallZ = 2.5;
constexpr double kCameraDistance = 5.5, kCameraHeight = 2.2, kLookHeight = 0.5;
constexpr double kFieldOfView = 30.0;  // degrees
constexpr double kAmbient = 0.25, kDiffuse = 0.75;
constexpr double kCapsuleRadius = 0.35, kCapsuleHeight = 1.4;  // times the size
constexpr double kNone = std::numeric_limits<double>::infinity();
constexpr double kEpsilon = 1e-9;  // smallest distance along a ray that counts as a hit

struct Vec {
  double x, y, z;
};
Vec operator+(Vec a, Vec b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
Vec operator-(Vec a, Vec b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
Vec operator*(double s, Vec a) { return {s * a.x, s * a.y, s * a.z}; }
double dot(Vec a, Vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
Vec cross(Vec a, Vec b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
Vec normalize(Vec a) { return (1 / std::sqrt(dot(a, a))) * a; }

struct Ray {
  Vec origin, dir;  // dir has unit length
  Vec at(double t) const { return origin + t * dir; }
};

// The nearest hit beyond kEpsilon: its distance (kNone for none) and the outward unit normal.
struct Hit {
  double t = kNone;
  Vec normal{0, 0, 0};
  void keep(double t_new, Vec n) {
    if (t_new > kEpsilon && t_new < t) {
      t = t_new;
      normal = n;
    }
  }
};

// The smaller and larger root of a t^2 + 2 b t + c = 0, or false when there is none.
bool roots(double a, double b, double c, double& t0, double& t1) {
  const double disc = b * b - a * c;
  if (a <= 0 || disc < 0) return false;
  const double s = std::sqrt(disc);
  t0 = (-b - s) / a;
  t1 = (-b + s) / a;
  return true;
}

// The axis-aligned box [lo, hi] (slabs).
void box(const Ray& r, Vec lo, Vec hi, Hit& h) {
  const double o[3] = {r.origin.x, r.origin.y, r.origin.z}, d[3] = {r.dir.x, r.dir.y, r.dir.z};
  const double l[3] = {lo.x, lo.y, lo.z}, u[3] = {hi.x, hi.y, hi.z};
  double enter = -kNone, leave = kNone;
  int axis = -1;
  double sign = 0;
  for (int k = 0; k < 3; ++k) {
    if (d[k] == 0) {
      if (o[k] < l[k] || o[k] > u[k]) return;
      continue;
    }
    double t0 = (l[k] - o[k]) / d[k], t1 = (u[k] - o[k]) / d[k];
    double s = -1;  // entering through the low face
    if (t0 > t1) {
      std::swap(t0, t1);
      s = 1;
    }
    if (t0 > enter) {
      enter = t0;
      axis = k;
      sign = s;
    }
    leave = std::min(leave, t1);
  }
  if (axis < 0 || enter > leave) return;
  Vec n{0, 0, 0};
  (axis == 0 ? n.x : axis == 1 ? n.y : n.z) = sign;
  h.keep(enter, n);
}

// The side of the vertical cylinder of radius rad about x = z = 0, between heights y0 and y1.
void tube(const Ray& r, double rad, double y0, double y1, Hit& h) {
  double t0, t1;
  if (!roots(r.dir.x * r.dir.x + r.dir.z * r.dir.z, r.origin.x * r.dir.x + r.origin.z * r.dir.z,
             r.origin.x * r.origin.x + r.origin.z * r.origin.z - rad * rad, t0, t1))
    return;
  for (const double t : {t0, t1}) {
    const Vec p = r.at(t);
    if (p.y >= y0 && p.y <= y1) h.keep(t, {p.x / rad, 0, p.z / rad});
  }
}

// The disc of radius rad at height y about the vertical axis, facing up (ny = 1) or down (-1).
void disc(const Ray& r, double rad, double y, double ny, Hit& h) {
  if (r.dir.y == 0) return;
  const double t = (y - r.origin.y) / r.dir.y;
  const Vec p = r.at(t);
  if (p.x * p.x + p.z * p.z <= rad * rad) h.keep(t, {0, ny, 0});
}

void ball(const Ray& r, Vec centre, double rad, Hit& h) {
  const Vec o = r.origin - centre;
  double t0, t1;
  if (!roots(1, dot(o, r.dir), dot(o, o) - rad * rad, t0, t1)) return;
  for (const double t : {t0, t1}) h.keep(t, (1 / rad) * (r.at(t) - centre));
}

// The object of `shape` at size s (the header's geometry).
Hit object(const Ray& r, int shape, double s) {
  Hit h;
  const double half = s / 2;
  switch (shape) {
    case 0:  // cube
      box(r, {-half, 0, -half}, {half, s, half}, h);
      break;
    case 1:  // cylinder
      tube(r, half, 0, s, h);
      disc(r, half, s, 1, h);
      disc(r, half, 0, -1, h);
      break;
    case 2:  // sphere
      ball(r, {0, half, 0}, half, h);
      break;
    default: {  // capsule
      const double rad = kCapsuleRadius * s, top = kCapsuleHeight * s;
      tube(r, rad, rad, top - rad, h);
      ball(r, {0, rad, 0}, rad, h);
      ball(r, {0, top - rad, 0}, rad, h);
    }
  }
  return h;
}

uint8_t level_of(double shade) {
  return static_cast<uint8_t>(std::lround(std::clamp(shade, 0.0, 1.0) * (kLevels - 1)));
}

// One view's surfaces and shade levels (the views buffer's layout).
void render_view(int scale, int shape, int orientation, uint8_t* out) {
  const double s = scale_value(scale);
  const double a = orientation_value(orientation) * std::numbers::pi / 180;
  const Vec eye{kCameraDistance * std::sin(a), kCameraHeight, -kCameraDistance * std::cos(a)};
  const Vec forward = normalize(Vec{0, kLookHeight, 0} - eye);
  const Vec right = normalize(cross({0, 1, 0}, forward)), up = cross(forward, right);
  const double tan_half = std::tan(kFieldOfView / 2 * std::numbers::pi / 180);
  const Vec light = normalize({-1.5, 2, -1});
  for (int row = 0; row < kSide; ++row)
    for (int col = 0; col < kSide; ++col) {
      const double u = ((col + 0.5) / (kSide / 2) - 1) * tan_half;
      const double v = (1 - (row + 0.5) / (kSide / 2)) * tan_half;
      const Ray ray{eye, normalize(forward + u * right + v * up)};
      Hit h = object(ray, shape, s);
      uint8_t surface = kObject;
      const double t_floor = ray.dir.y < 0 ? -eye.y / ray.dir.y : kNone;
      const double t_wall = ray.dir.z > 0 ? (kWallZ - eye.z) / ray.dir.z : kNone;
      if (t_floor < h.t) {
        h = {t_floor, {0, 1, 0}};
        surface = kFloor;
      }
      if (t_wall < h.t) {
        h = {t_wall, {0, 0, -1}};
        surface = kWall;
      }
      if (h.t == kNone) throw std::logic_error("shapes3d: a ray meets no surface");
      double lit = std::max(0.0, dot(h.normal, light));
      // The floor and the wall lie in the object's shadow where a ray towards the light meets
      // it (started a little off the surface, so that it cannot meet the surface itself).
      if (surface != kObject && lit > 0 &&
          object({ray.at(h.t) + 1e-6 * h.normal, light}, shape, s).t < kNone)
        lit = 0;
      const int p = row * kSide + col;
      out[p] = surface;
      out[kPixels + p] = level_of(kAmbient + kDiffuse * lit);
    }
}

}  // namespace

const char* const kShapeNames[kShapes] = {"cube", "cylinder", "sphere", "capsule"};
const char* const kTargetNames[kTargets] = {"floor_hue", "wall_hue", "object_hue",
                                            "scale",     "shape",    "orientation"};

Factors factors_of(int64_t image) {
  Factors f;
  f.orientation = static_cast<int>(image % kOrientations);
  image /= kOrientations;
  f.shape = static_cast<int>(image % kShapes);
  image /= kShapes;
  f.scale = static_cast<int>(image % kScales);
  image /= kScales;
  f.object_hue = static_cast<int>(image % kHues);
  image /= kHues;
  f.wall_hue = static_cast<int>(image % kHues);
  f.floor_hue = static_cast<int>(image / kHues);
  return f;
}

int64_t image_of(const Factors& f) {
  return ((int64_t{f.floor_hue} * kHues + f.wall_hue) * kHues + f.object_hue) * kViews + view_of(f);
}

double hue_value(int i) { return 0.9 * i / (kHues - 1); }
double scale_value(int i) { return 0.75 + 0.5 * i / (kScales - 1); }
double orientation_value(int i) { return -30 + 60.0 * i / (kOrientations - 1); }

// HSV to RGB at s = v = 1 in exact rationals: hue i is 0.1 i turns, so 6 h = 3 i / 5 falls in
// sector 3 i / 5 (integer division) at fraction (3 i mod 5) / 5.
float hue_channel(int i, int c) {
  const int sector = 3 * i / 5, fifths = 3 * i % 5;
  const float rise = static_cast<float>(fifths) / 5, fall = static_cast<float>(5 - fifths) / 5;
  const float rgb[6][3] = {{1, rise, 0}, {fall, 1, 0}, {0, 1, rise},
                           {0, fall, 1}, {rise, 0, 1}, {1, 0, fall}};
  return rgb[sector][c];
}

float shade_value(int level) { return static_cast<float>(level) / (kLevels - 1); }

std::vector<uint8_t> render_views() {
  std::vector<uint8_t> views(static_cast<size_t>(kViewsBytes));
  for (int scale = 0; scale < kScales; ++scale)
    for (int shape = 0; shape < kShapes; ++shape)
      for (int orient = 0; orient < kOrientations; ++orient)
        render_view(scale, shape, orient,
                    views.data() + view_of({0, 0, 0, scale, shape, orient}) * kViewBytes);
  float tables[kShadeTable + kLevels];
  for (int i = 0; i < kHues; ++i)
    for (int c = 0; c < kChannels; ++c) tables[kHueTable + i * kChannels + c] = hue_channel(i, c);
  for (int l = 0; l < kLevels; ++l) tables[kShadeTable + l] = shade_value(l);
  std::memcpy(views.data() + kTablesOffset, tables, sizeof tables);
  return views;
}

void probe_targets(int64_t image, double* out) {
  static const dislib::Moments hue = dislib::moments(kHues, hue_value);
  static const dislib::Moments scale = dislib::moments(kScales, scale_value);
  static const dislib::Moments shape = dislib::moments(kShapes, [](int i) { return double(i); });
  static const dislib::Moments orientation = dislib::moments(kOrientations, orientation_value);
  const Factors f = factors_of(image);
  out[0] = (hue_value(f.floor_hue) - hue.mean) / hue.sd;
  out[1] = (hue_value(f.wall_hue) - hue.mean) / hue.sd;
  out[2] = (hue_value(f.object_hue) - hue.mean) / hue.sd;
  out[3] = (scale_value(f.scale) - scale.mean) / scale.sd;
  out[4] = (f.shape - shape.mean) / shape.sd;
  out[5] = (orientation_value(f.orientation) - orientation.mean) / orientation.sd;
}

}  // namespace xent::shapes3d
