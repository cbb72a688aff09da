// The 3D Shapes renderer (views), its colours, the CPU batch op, the probe's targets and the
// contact sheet.
#include "xent/shapes3d.h"

#include <gtest/gtest.h>
#include <stb_image.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <random>

#include "cpu/cpu_backend.h"
#include "cpu/ops.h"
#include "experiments/dislib/contact_sheet.h"
#include "xent/error.h"

namespace xent::shapes3d {
namespace {

const std::vector<uint8_t>& views() {
  static const std::vector<uint8_t> v = render_views();
  return v;
}

const uint8_t* surfaces(int scale, int shape, int orientation) {
  return views().data() + view_of({0, 0, 0, scale, shape, orientation}) * kViewBytes;
}
const uint8_t* levels(int scale, int shape, int orientation) {
  return surfaces(scale, shape, orientation) + kPixels;
}

int object_pixels(int scale, int shape, int orientation) {
  const uint8_t* s = surfaces(scale, shape, orientation);
  return static_cast<int>(std::count(s, s + kPixels, kObject));
}

std::vector<float> render(const std::vector<Factors>& fs) {
  std::vector<int32_t> index;
  for (const Factors& f : fs) index.push_back(static_cast<int32_t>(image_of(f)));
  std::vector<float> images(fs.size() * kValues);
  cpu::render_shapes3d(views().data(), index.data(), nullptr, 1, static_cast<int64_t>(fs.size()),
                       images.data(), nullptr);
  return images;
}

// The row of the floor/wall edge in a column: the first floor pixel from the top (the object
// stays clear of the image's outer columns).
int edge_row(const uint8_t* s, int col) {
  for (int row = 0; row < kSide; ++row)
    if (s[row * kSide + col] == kFloor) return row;
  return kSide;
}

TEST(Shapes3d, FactorsRoundTripInTheOriginalOrder) {
  EXPECT_EQ(kImages, 480000);
  EXPECT_EQ(kViews, 480);
  for (int64_t i = 0; i < kImages; i += 997) ASSERT_EQ(image_of(factors_of(i)), i);
  EXPECT_EQ(image_of(factors_of(kImages - 1)), kImages - 1);
  // Orientation fastest, then shape, scale, object, wall and floor hue.
  EXPECT_EQ(factors_of(1).orientation, 1);
  EXPECT_EQ(factors_of(15).shape, 1);
  EXPECT_EQ(factors_of(15).orientation, 0);
  EXPECT_EQ(factors_of(60).scale, 1);
  EXPECT_EQ(factors_of(480).object_hue, 1);
  EXPECT_EQ(factors_of(4800).wall_hue, 1);
  EXPECT_EQ(factors_of(48000).floor_hue, 1);
  const Factors last = factors_of(kImages - 1);
  EXPECT_EQ(last.floor_hue, 9);
  EXPECT_EQ(last.wall_hue, 9);
  EXPECT_EQ(last.object_hue, 9);
  EXPECT_EQ(last.scale, 7);
  EXPECT_EQ(last.shape, 3);
  EXPECT_EQ(last.orientation, 14);
  const Factors f{3, 1, 4, 1, 2, 9};
  EXPECT_EQ(image_of(f), ((3 * 10 + 1) * 10 + 4) * 480 + (1 * 4 + 2) * 15 + 9);
  EXPECT_EQ(view_of(f), image_of(f) % kViews);
  EXPECT_DOUBLE_EQ(hue_value(0), 0.0);
  EXPECT_DOUBLE_EQ(hue_value(9), 0.9);
  EXPECT_DOUBLE_EQ(hue_value(3), 0.3);
  EXPECT_DOUBLE_EQ(scale_value(0), 0.75);
  EXPECT_DOUBLE_EQ(scale_value(7), 1.25);
  EXPECT_DOUBLE_EQ(orientation_value(0), -30.0);
  EXPECT_DOUBLE_EQ(orientation_value(7), 0.0);
  EXPECT_DOUBLE_EQ(orientation_value(14), 30.0);
}

// Over all images each target has mean 0 and standard deviation 1, and depends on its own
// factor only, increasing with it.
TEST(Shapes3d, ProbeTargetsAreZScoredFactors) {
  double sum[kTargets] = {}, sum2[kTargets] = {};
  double t[kTargets];
  for (int64_t i = 0; i < kImages; ++i) {
    probe_targets(i, t);
    for (int k = 0; k < kTargets; ++k) {
      sum[k] += t[k];
      sum2[k] += t[k] * t[k];
    }
  }
  for (int k = 0; k < kTargets; ++k) {
    EXPECT_NEAR(sum[k] / kImages, 0, 1e-9) << kTargetNames[k];
    EXPECT_NEAR(sum2[k] / kImages, 1, 1e-9) << kTargetNames[k];
  }
  const Factors base{2, 5, 7, 3, 1, 4};
  double b[kTargets];
  probe_targets(image_of(base), b);
  for (int k = 0; k < kTargets; ++k) {
    Factors f = base;
    int* field[kTargets] = {&f.floor_hue, &f.wall_hue, &f.object_hue,
                            &f.scale,     &f.shape,    &f.orientation};
    ++*field[k];
    probe_targets(image_of(f), t);
    for (int j = 0; j < kTargets; ++j) {
      if (j == k) {
        EXPECT_GT(t[j], b[j]) << kTargetNames[k];
      } else {
        EXPECT_EQ(t[j], b[j]) << kTargetNames[k] << " moved " << kTargetNames[j];
      }
    }
  }
  // Shape 0 of 0 .. 3: (0 - 1.5) / sd, sd = sqrt(1.25).
  EXPECT_NEAR(b[4], (1 - 1.5) / std::sqrt(1.25), 1e-12);
  EXPECT_STREQ(kTargetNames[5], "orientation");
}

TEST(Shapes3d, ViewsAreDeterministicWithTheColourTables) {
  ASSERT_EQ(static_cast<int64_t>(views().size()), kViewsBytes);
  EXPECT_EQ(render_views(), views());
  float tables[kShadeTable + kLevels];
  std::memcpy(tables, views().data() + kTablesOffset, sizeof tables);
  for (int i = 0; i < kHues; ++i)
    for (int c = 0; c < kChannels; ++c)
      EXPECT_EQ(tables[kHueTable + i * kChannels + c], hue_channel(i, c));
  for (int l = 0; l < kLevels; ++l) EXPECT_EQ(tables[kShadeTable + l], shade_value(l));
  EXPECT_EQ(shade_value(255), 1.0f);
  EXPECT_EQ(shade_value(0), 0.0f);
}

// Fully saturated hues: one channel 1, one 0, the third the HSV ramp; red, yellow-green, cyan,
// blue at 0, 0.2, 0.5, 0.7 turns (hue 0.2 is (0.8, 1, 0)).
TEST(Shapes3d, HuesAreFullySaturatedHsvColours) {
  const auto rgb = [](int i) {
    return std::vector<float>{hue_channel(i, 0), hue_channel(i, 1), hue_channel(i, 2)};
  };
  EXPECT_EQ(rgb(0), (std::vector<float>{1, 0, 0}));
  EXPECT_EQ(rgb(2), (std::vector<float>{0.8f, 1, 0}));
  EXPECT_EQ(rgb(5), (std::vector<float>{0, 1, 1}));
  EXPECT_EQ(rgb(9), (std::vector<float>{1, 0, 0.6f}));
  for (int i = 0; i < kHues; ++i) {
    const std::vector<float> c = rgb(i);
    EXPECT_EQ(*std::max_element(c.begin(), c.end()), 1.0f) << "hue " << i;
    EXPECT_EQ(*std::min_element(c.begin(), c.end()), 0.0f) << "hue " << i;
    for (int j = 0; j < i; ++j) EXPECT_NE(rgb(j), c) << "hues " << j << " and " << i;
  }
}

// Every view shows floor, wall and object; the shades are the header's [0.25, 1].
TEST(Shapes3d, EveryViewShowsAllThreeSurfaces) {
  for (int v = 0; v < kViews; ++v) {
    const uint8_t* s = views().data() + v * kViewBytes;
    int count[3] = {};
    for (int p = 0; p < kPixels; ++p) {
      ASSERT_LE(s[p], kObject) << "view " << v;
      ++count[s[p]];
      ASSERT_GE(s[kPixels + p], 64) << "view " << v;  // round(255 * 0.25)
    }
    EXPECT_GT(count[kFloor], 1000) << "view " << v;
    EXPECT_GT(count[kWall], 800) << "view " << v;
    EXPECT_GT(count[kObject], 80) << "view " << v;
    // The object never reaches the image's border.
    for (int i = 0; i < kSide; ++i) {
      ASSERT_NE(s[i], kObject) << "view " << v;
      ASSERT_NE(s[(kSide - 1) * kSide + i], kObject) << "view " << v;
      ASSERT_NE(s[i * kSide], kObject) << "view " << v;
      ASSERT_NE(s[i * kSide + kSide - 1], kObject) << "view " << v;
    }
  }
}

// Sizes: the cube's side, the cylinder's and the sphere's diameter are the size s. The sphere's
// silhouette is close to a circle of angular radius asin(r / distance), so its area is about
// pi (f tan)^2 with f = 32 / tan(15 degrees) pixels (measured within 1% at the middle scale);
// the cube, seen face on or across an edge, covers more (636 and 740 pixels measured at the
// middle scale). The sphere sits inside the cylinder and the cylinder inside the cube, so their
// silhouettes nest pixel for pixel; the capsule is narrower and taller than the cylinder.
TEST(Shapes3d, ShapesCoverPlausibleAreasAndDiffer) {
  for (const int o : {0, 7, 14}) {
    const int scale = 4;
    int area[kShapes];
    for (int shape = 0; shape < kShapes; ++shape) area[shape] = object_pixels(scale, shape, o);
    const double r = scale_value(scale) / 2, f = 32 / std::tan(15 * std::numbers::pi / 180);
    const double dx = 5.5, dy = 2.2 - r, angle = std::asin(r / std::sqrt(dx * dx + dy * dy));
    const double disc = std::numbers::pi * std::pow(f * std::tan(angle), 2);
    EXPECT_NEAR(area[2], disc, 0.05 * disc) << o;
    EXPECT_GT(area[0], 1.5 * area[2]) << o;
    EXPECT_LT(area[0], 2.5 * area[2]) << o;
    EXPECT_LT(area[2], area[1]) << o;
    EXPECT_LT(area[1], area[0]) << o;
    EXPECT_GT(area[3], 150) << o;
    EXPECT_LT(area[3], area[1]) << o;
    const uint8_t* cube = surfaces(scale, 0, o);
    const uint8_t* cylinder = surfaces(scale, 1, o);
    const uint8_t* sphere = surfaces(scale, 2, o);
    const uint8_t* capsule = surfaces(scale, 3, o);
    int capsule_higher = 0, cylinder_only = 0;
    for (int p = 0; p < kPixels; ++p) {
      if (sphere[p] == kObject) {
        ASSERT_EQ(cylinder[p], kObject) << o << " " << p;
      }
      if (cylinder[p] == kObject) {
        ASSERT_EQ(cube[p], kObject) << o << " " << p;
      }
      capsule_higher += capsule[p] == kObject && cylinder[p] != kObject;
      cylinder_only += cylinder[p] == kObject && capsule[p] != kObject;
    }
    EXPECT_GT(capsule_higher, 20) << o;  // its top above the cylinder's
    EXPECT_GT(cylinder_only, 100) << o;  // the cylinder's width beyond the capsule's
    for (int a = 0; a < kShapes; ++a)
      for (int b = 0; b < a; ++b) {
        int differ = 0;
        for (int p = 0; p < kPixels; ++p)
          differ += (surfaces(scale, a, o)[p] == kObject) != (surfaces(scale, b, o)[p] == kObject);
        EXPECT_GT(differ, 30) << kShapeNames[a] << " and " << kShapeNames[b] << " at " << o;
      }
  }
}

TEST(Shapes3d, LargerScalesCoverMoreObjectPixels) {
  for (int shape = 0; shape < kShapes; ++shape)
    for (int o = 0; o < kOrientations; ++o) {
      for (int scale = 1; scale < kScales; ++scale)
        EXPECT_GT(object_pixels(scale, shape, o), object_pixels(scale - 1, shape, o))
            << kShapeNames[shape] << " orientation " << o << " scale " << scale;
      // Area grows as the size squared: 1.25^2 / 0.75^2 = 2.8, within pixelation.
      const double ratio =
          static_cast<double>(object_pixels(kScales - 1, shape, o)) / object_pixels(0, shape, o);
      EXPECT_GT(ratio, 2.3) << kShapeNames[shape] << " orientation " << o;
      EXPECT_LT(ratio, 3.3) << kShapeNames[shape] << " orientation " << o;
    }
}

// The camera orbits: at 0 degrees the scene is mirror symmetric (the shading is not: the light
// comes from the left), at -a it is the mirror image of +a, and the floor/wall edge descends
// to the right for a > 0, to the left for a < 0.
TEST(Shapes3d, OrientationOrbitsTheCamera) {
  for (int shape = 0; shape < kShapes; ++shape) {
    const uint8_t* front = surfaces(4, shape, 7);
    for (int row = 0; row < kSide; ++row)
      for (int col = 0; col < kSide; ++col)
        ASSERT_EQ(front[row * kSide + col], front[row * kSide + kSide - 1 - col])
            << kShapeNames[shape] << " " << row << "," << col;
    EXPECT_EQ(edge_row(front, 0), edge_row(front, kSide - 1));
    for (int o = 0; o < 7; ++o) {
      const uint8_t* left = surfaces(4, shape, o);
      const uint8_t* right = surfaces(4, shape, kOrientations - 1 - o);
      int differ = 0, mirrored = 0;
      for (int row = 0; row < kSide; ++row)
        for (int col = 0; col < kSide; ++col) {
          differ += left[row * kSide + col] != front[row * kSide + col];
          mirrored += left[row * kSide + col] != right[row * kSide + kSide - 1 - col];
        }
      EXPECT_GT(differ, 10 * (7 - o)) << kShapeNames[shape] << " orientation " << o;
      EXPECT_LT(mirrored, 8) << kShapeNames[shape] << " orientation " << o;
      // The edge's drop across the image, the same for the mirror image.
      const int drop = edge_row(right, kSide - 1) - edge_row(right, 0);
      EXPECT_GT(drop, 0) << kShapeNames[shape] << " orientation " << o;
      EXPECT_EQ(edge_row(left, 0) - edge_row(left, kSide - 1), drop) << kShapeNames[shape];
      if (o == 0) {
        EXPECT_GE(drop, 6) << kShapeNames[shape];  // 9 rows at 30 degrees
      }
    }
  }
  // The round shapes' silhouettes hardly change as the camera orbits; the cube's does.
  int cube_change = 0, sphere_change = 0;
  for (int p = 0; p < kPixels; ++p) {
    cube_change += (surfaces(4, 0, 7)[p] == kObject) != (surfaces(4, 0, 3)[p] == kObject);
    sphere_change += (surfaces(4, 2, 7)[p] == kObject) != (surfaces(4, 2, 3)[p] == kObject);
  }
  EXPECT_GT(cube_change, 20);
  EXPECT_LT(sphere_change, 10);
  // Images of different orientations differ.
  const std::vector<float> a = render({{1, 2, 3, 4, 0, 5}}), b = render({{1, 2, 3, 4, 0, 6}});
  EXPECT_NE(a, b);
}

// Light from the left: the sphere's left half is brighter than its right; the cube's top is
// brighter than its front, which is brighter than its right side. The floor has a shadow.
TEST(Shapes3d, ShadingShowsTheShape) {
  const uint8_t* s = surfaces(4, 2, 7);
  const uint8_t* l = levels(4, 2, 7);
  double left = 0, right = 0;
  int nl = 0, nr = 0;
  for (int row = 0; row < kSide; ++row)
    for (int col = 0; col < kSide; ++col) {
      const int p = row * kSide + col;
      if (s[p] != kObject) continue;
      (col < kSide / 2 ? left : right) += l[p];
      ++(col < kSide / 2 ? nl : nr);
    }
  EXPECT_GT(left / nl, right / nr + 20);
  // The sphere's shading varies: at least 30 distinct levels.
  std::vector<bool> seen(kLevels);
  for (int p = 0; p < kPixels; ++p)
    if (s[p] == kObject) seen[l[p]] = true;
  EXPECT_GE(std::count(seen.begin(), seen.end(), true), 30);
  // The floor: lit at 0.25 + 0.75 * 2 / sqrt(7.25), and a shadow at 0.25.
  const uint8_t lit_floor =
      static_cast<uint8_t>(std::lround(255 * (0.25 + 0.75 * 2 / std::sqrt(7.25))));
  const uint8_t shadow = static_cast<uint8_t>(std::lround(255 * 0.25));
  for (int shape = 0; shape < kShapes; ++shape) {
    const uint8_t* sv = surfaces(4, shape, 7);
    const uint8_t* lv = levels(4, shape, 7);
    int shadowed = 0;
    for (int p = 0; p < kPixels; ++p) {
      if (sv[p] != kFloor) continue;
      ASSERT_TRUE(lv[p] == lit_floor || lv[p] == shadow) << kShapeNames[shape] << " " << p;
      shadowed += lv[p] == shadow;
    }
    EXPECT_GT(shadowed, 40) << kShapeNames[shape];
  }
  // The cube seen from the right (orientation 10, 12.9 degrees): its top is lit as the floor,
  // its front (normal -z) at 0.25 + 0.75 / sqrt(7.25) and its right side (+x) not at all.
  const uint8_t* cs = surfaces(4, 0, 10);
  const uint8_t* cl = levels(4, 0, 10);
  int top = kSide;
  for (int p = 0; p < kPixels && top == kSide; ++p)
    if (cs[p] == kObject) top = p / kSide;
  const int mid = top + 10;
  int first = -1, last = -1;
  for (int col = 0; col < kSide; ++col)
    if (cs[mid * kSide + col] == kObject) {
      if (first < 0) first = col;
      last = col;
    }
  ASSERT_GE(first, 0);
  const uint8_t front = static_cast<uint8_t>(std::lround(255 * (0.25 + 0.75 / std::sqrt(7.25))));
  EXPECT_EQ(cl[(top + 1) * kSide + (first + last) / 2], lit_floor);
  EXPECT_EQ(cl[mid * kSide + first + 1], front);
  EXPECT_EQ(cl[mid * kSide + last - 1], shadow);
}

// The CPU op: value = hue channel of the pixel's surface times its shade, the batch chosen by
// batches_done % period, labels the shapes.
TEST(Shapes3d, RenderColoursEachSurfaceWithItsHue) {
  const std::vector<Factors> fs = {
      {0, 0, 0, 0, 0, 0}, {1, 2, 3, 4, 1, 7}, {9, 5, 0, 7, 3, 14}, {4, 8, 6, 2, 2, 3}};
  std::vector<int32_t> index;
  for (const Factors& f : fs) index.push_back(static_cast<int32_t>(image_of(f)));
  std::vector<float> img(2 * kValues, -1.0f);
  std::vector<int32_t> labels(2, -1);
  const int64_t done = 3;  // period 2: batch 1, images 2 and 3
  cpu::render_shapes3d(views().data(), index.data(), &done, 2, 2, img.data(), labels.data());
  EXPECT_EQ(labels, (std::vector<int32_t>{3, 2}));
  for (int r = 0; r < 2; ++r) {
    const Factors& f = fs[2 + r];
    const uint8_t* s = surfaces(f.scale, f.shape, f.orientation);
    const uint8_t* l = levels(f.scale, f.shape, f.orientation);
    const int hue[3] = {f.floor_hue, f.wall_hue, f.object_hue};
    for (int c = 0; c < kChannels; ++c)
      for (int p = 0; p < kPixels; ++p)
        ASSERT_EQ(img[r * kValues + c * kPixels + p], hue_channel(hue[s[p]], c) * shade_value(l[p]))
            << "row " << r << " channel " << c << " pixel " << p;
  }
  // Without the counter: the first rows; labels may be null.
  std::vector<float> first(kValues);
  cpu::render_shapes3d(views().data(), index.data(), nullptr, 2, 1, first.data(), nullptr);
  EXPECT_EQ(first, render({fs[0]}));
}

// Changing one surface's hue changes exactly that surface's pixels (every shade is above 0 and
// two hues differ in some channel).
TEST(Shapes3d, AHueChangesOnlyItsSurface) {
  const Factors base{2, 6, 0, 5, 3, 4};
  const std::vector<float> b = render({base});
  const uint8_t* s = surfaces(base.scale, base.shape, base.orientation);
  for (int surface = 0; surface < 3; ++surface)
    for (const int hue : {1, 5, 9}) {
      Factors f = base;
      (surface == kFloor ? f.floor_hue : surface == kWall ? f.wall_hue : f.object_hue) = hue;
      const std::vector<float> v = render({f});
      for (int p = 0; p < kPixels; ++p) {
        bool changed = false;
        for (int c = 0; c < kChannels; ++c) changed |= v[c * kPixels + p] != b[c * kPixels + p];
        ASSERT_EQ(changed, s[p] == surface) << "surface " << surface << " hue " << hue << " " << p;
      }
    }
}

TEST(Shapes3d, EveryPixelLiesInTheUnitInterval) {
  std::mt19937 gen(5);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(kImages - 1));
  std::vector<int32_t> index(500);
  for (auto& i : index) i = pick(gen);
  index[0] = 0;
  index[1] = static_cast<int32_t>(kImages - 1);
  std::vector<float> img(index.size() * kValues, -1.0f);
  cpu::ThreadPool pool(2);
  cpu::render_shapes3d(views().data(), index.data(), nullptr, 1, static_cast<int64_t>(index.size()),
                       img.data(), nullptr, pool);
  float lo = 1, hi = 0;
  for (const float v : img) {
    ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(lo, 0.0f);  // saturated colours have a zero channel
  EXPECT_EQ(hi, 1.0f);  // a fully lit surface (the sphere's brightest point)
  // The pool's threads give the serial op's bits.
  std::vector<float> serial(img.size());
  cpu::render_shapes3d(views().data(), index.data(), nullptr, 1, static_cast<int64_t>(index.size()),
                       serial.data(), nullptr);
  EXPECT_EQ(serial, img);
}

TEST(Shapes3d, ContactSheetIsAnRgbPng) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("xent-shapes3d-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "sheet.png").string();
  CpuBackend cpu;
  const dislib::Dataset& d = dislib::dataset("shapes3d");
  dislib::write_contact_sheet(cpu, d, path);
  int w = 0, h = 0, c = 0;
  uint8_t* px = stbi_load(path.c_str(), &w, &h, &c, 0);
  ASSERT_NE(px, nullptr);
  EXPECT_EQ(w, 10 * 65 + 1);
  EXPECT_EQ(h, 7 * 65 + 1);
  EXPECT_EQ(c, 3);
  // The first cell's top-left pixel is the wall (hue 0.7, shaded), its bottom-left the floor
  // (hue 0.5: cyan, no red).
  const uint8_t* wall = px + (1 * w + 1) * 3;
  const uint8_t* floor = px + (64 * w + 1) * 3;
  EXPECT_GT(wall[2], wall[0]);
  EXPECT_EQ(wall[1], 0);
  EXPECT_EQ(floor[0], 0);
  EXPECT_EQ(floor[1], floor[2]);
  stbi_image_free(px);
  EXPECT_THROW(dislib::write_contact_sheet(cpu, d, (dir / "missing" / "sheet.png").string()),
               InputError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace xent::shapes3d
