// dSprites, rendered (docs/paper.md): 737,280 binary 64x64 images, one for every
// combination of shape (square, ellipse, heart), scale (6), orientation (40) and position
// (32 x 32). The original renderer is not public; this one draws each shape as a filled
// polygon from a fixed outline, rotated about its centre, and is deterministic.
//
// Geometry (our choice, in pixels): a sprite is drawn once per (shape, scale, orientation) on a
// 32 x 32 canvas whose centre is the sprite's centre; position (i, j) places that canvas with its
// top-left corner at column i, row j of the image. The sprite's centre therefore moves from
// pixel 16 to pixel 47 in steps of one pixel (posX = i / 31 in [0, 1], posY = j / 31 counting
// rows from the top), and a margin of 16 pixels keeps every sprite inside the frame. At scale
// 1 the square has half-side 10 pixels, the ellipse semi-axes 10 and 5, and the heart fits the
// square's box; scales are 0.5 .. 1 of that, so no rotated sprite reaches the canvas edge
// (largest radius 10 * sqrt(2) < 16).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xent::dsprites {

constexpr int kSide = 64;
constexpr int kPixels = kSide * kSide;
constexpr int kShapes = 3, kScales = 6, kOrientations = 40, kPositions = 32;
constexpr int kCanvas = 32;  // a sprite's mask is kCanvas x kCanvas
static_assert(kCanvas + kPositions == kSide, "the last position's canvas ends at the frame");
constexpr int kSprites = kShapes * kScales * kOrientations;
constexpr int64_t kImages = int64_t{kSprites} * kPositions * kPositions;
constexpr double kBaseHalfSize = 10.0;  // pixels, at scale 1

// Factor indices of one image. Image numbers run as in the original file: shape slowest, then
// scale, orientation, posX, and posY fastest.
struct Factors {
  int shape = 0, scale = 0, orientation = 0, pos_x = 0, pos_y = 0;
};
Factors factors_of(int64_t image);
int64_t image_of(const Factors& f);
// The sprite (mask) an image shows: (shape * kScales + scale) * kOrientations + orientation.
inline int sprite_of(const Factors& f) {
  return (f.shape * kScales + f.scale) * kOrientations + f.orientation;
}

// Factor values, as in the original's latents_values: scale linspace(0.5, 1, 6), orientation
// linspace(0, 2 pi, 40) (so the first and last orientation show the same image), positions
// linspace(0, 1, 32).
double scale_value(int i);
double orientation_value(int i);
double position_value(int i);

// All sprite masks, [kSprites][kCanvas][kCanvas], 1 inside the shape and 0 outside: the
// outline polygon, rotated (counter-clockwise on screen) and scaled, tested at pixel centres.
std::vector<uint8_t> render_masks();

// The probe's targets of one image, in this order: shape, scale, cos and sin of the
// orientation, posX, posY; each z-scored with its mean and standard deviation over all images.
constexpr int kTargets = 6;
extern const char* const kTargetNames[kTargets];
void probe_targets(int64_t image, double* out);

}  // namespace xent::dsprites
