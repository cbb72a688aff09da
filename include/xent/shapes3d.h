// 3D Shapes (DisLib), rendered: 480,000 RGB 64 x 64 images of an object resting on a floor in
// front of a wall, one for every combination of floor hue (10), wall hue (10), object hue (10),
// scale (8), shape (4: cube, cylinder, sphere, capsule) and orientation (15). The original file
// cannot be downloaded here; this renderer has its factors, their values and their order, and a
// scene of our own, ray-cast analytically and deterministic. All of its geometry is here.
//
// Scene (world units; x right, y up, z from the camera towards the wall at orientation 0):
// - floor: the plane y = 0; wall: the plane z = 2.5, facing the camera; both unbounded.
// - object: resting on the floor, centred on the vertical axis x = z = 0, with size
//   s = scale (0.75 .. 1.25) and axis-aligned in the world:
//     cube      side s: [-s/2, s/2] x [0, s] x [-s/2, s/2];
//     cylinder  upright, radius s/2, height s;
//     sphere    radius s/2, centre (0, s/2, 0);
//     capsule   upright, radius 0.35 s, height 1.4 s (two hemispheres joined by a cylinder).
// - camera: a pinhole with a 30-degree field of view (both ways; the image is square), at
//   horizontal distance 5.5 from the vertical axis and height 2.2, looking at (0, 0.5, 0), with
//   the image's up in the vertical plane. Orientation a (degrees, -30 .. 30) orbits the camera
//   about the vertical axis: it stands at (5.5 sin a, 2.2, -5.5 cos a), so a > 0 moves it to
//   the right (+x) and shows the wall at an angle (the floor/wall edge descends to the right;
//   at a < 0 to the left, the mirror image; at 0 the edge is level). The object, the wall
//   and the light stay put: the cube turns on screen, the round shapes only change their
//   shading, and the shadow and the background change for all.
// - light: directional, towards (-1.5, 2, -1) normalised (up, left, in front of the object);
//   shade = 0.25 + 0.75 max(0, n . l) (ambient plus Lambert diffuse), 0.25 where the object
//   shadows the floor (a shadow ray from the hit point; the shadow falls behind and to the
//   right, short of the wall). The shapes are convex, so their own shadow is their unlit side.
//   Every shade lies in [0.25, 1], stored as the level round(255 shade).
// - pixels: one ray through each pixel centre (column x, row y from the top, no anti-aliasing).
//   Every ray meets the floor or the wall (at |a| <= 30 degrees every ray heads for the wall).
// - colour: the hit surface's hue (floor, wall or object hue: linspace(0, 0.9, 10)) as a fully
//   saturated HSV colour (s = v = 1), each channel times the pixel's shade level / 255: pixel
//   value = hue_channel(hue, channel) * shade_value(level), one float multiply, in [0, 1].
//
// The geometry does not depend on the hues, so it is ray-cast once for each of the 480 views
// (scale, shape, orientation) by render_views(), the analogue of dSprites' masks; the batch op
// render_shapes3d (include/xent/backend.h) colours a batch of images from it in backend memory.
// Its preconditions, unchecked as render_sprites's: views is render_views()'s buffer (16-byte
// aligned in backend memory); index holds period * n image numbers in [0, kImages) (n when
// batches_done is null); period >= 1; images has n * kValues floats, 16-byte aligned.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xent::shapes3d {

constexpr int kSide = 64;
constexpr int kPixels = kSide * kSide;
constexpr int kChannels = 3;
// Floats an image: channel-major [kChannels][kSide][kSide], the reference's (C, H, W) tensors
// flattened.
constexpr int kValues = kChannels * kPixels;
constexpr int kHues = 10, kScales = 8, kShapes = 4, kOrientations = 15;
constexpr int kClasses = kShapes;  // the classifier's labels are the shapes
constexpr int kViews = kScales * kShapes * kOrientations;
constexpr int64_t kImages = int64_t{kHues} * kHues * kHues * kViews;
extern const char* const kShapeNames[kShapes];  // "cube", "cylinder", "sphere", "capsule"

// Factor indices of one image. Image numbers run as in the original file: floor hue slowest,
// then wall hue, object hue, scale, shape, and orientation fastest.
struct Factors {
  int floor_hue = 0, wall_hue = 0, object_hue = 0, scale = 0, shape = 0, orientation = 0;
};
Factors factors_of(int64_t image);
int64_t image_of(const Factors& f);
// The view an image shows: (scale * kShapes + shape) * kOrientations + orientation, which is
// image % kViews.
inline int view_of(const Factors& f) {
  return (f.scale * kShapes + f.shape) * kOrientations + f.orientation;
}

// Factor values, as in the original's labels: hues linspace(0, 0.9, 10) (for the floor, the
// wall and the object alike), scale linspace(0.75, 1.25, 8), shape the index 0 .. 3,
// orientation linspace(-30, 30, 15) in degrees.
double hue_value(int i);
double scale_value(int i);
double orientation_value(int i);

// What a pixel's ray meets first.
enum Surface : uint8_t { kFloor = 0, kWall = 1, kObject = 2 };
constexpr int kLevels = 256;  // shade levels 0 .. 255 of [0, 1]

// Channel c (0 red, 1 green, 2 blue) of hue i's fully saturated colour, and shade level l as a
// float (l / 255): the floats that the tables below hold and that every backend multiplies.
float hue_channel(int i, int c);
float shade_value(int level);

// The views buffer, the batch op's whole input (bytes):
// - [kViews][2][kPixels] from offset 0: for each view its pixels' Surface, then their shade
//   levels, pixels row-major;
// - from kTablesOffset (a multiple of 16), floats: hue_channel as [kHues][kChannels], then
//   shade_value as [kLevels]. Carrying the colour tables in the buffer makes every backend
//   multiply the same floats.
constexpr int64_t kViewBytes = 2 * kPixels;
constexpr int64_t kTablesOffset = kViews * kViewBytes;
constexpr int kHueTable = 0, kShadeTable = kHues * kChannels;  // float offsets in the tables
constexpr int64_t kViewsBytes = kTablesOffset + (kShadeTable + kLevels) * int64_t{sizeof(float)};
static_assert(kTablesOffset % 16 == 0, "the tables are float-aligned in any aligned buffer");
std::vector<uint8_t> render_views();

// The probe's targets of one image, in this order: floor hue, wall hue, object hue, scale,
// shape, orientation (factor values as above); each z-scored with its mean and standard
// deviation over all images.
constexpr int kTargets = 6;
extern const char* const kTargetNames[kTargets];
void probe_targets(int64_t image, double* out);

}  // namespace xent::shapes3d
