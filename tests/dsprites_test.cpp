// The dSprites renderer, split, probe and a short end-to-end training run on the CPU backend.
#include "xent/dsprites.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <numbers>
#include <random>

#include "cpu/cpu_backend.h"
#include "cpu/ops.h"
#include "experiments/dislib/classifier.h"
#include "experiments/dislib/config.h"
#include "run_xent.h"
#include "xent/error.h"

namespace xent::dsprites {
namespace {

using dislib::correlate_factors;
using dislib::make_split;
using dislib::ProbeScores;
using dislib::Split;

const dislib::Dataset& data() { return dislib::dataset("dsprites"); }

const std::vector<uint8_t>& masks() {
  static const std::vector<uint8_t> m = render_masks();
  return m;
}

const uint8_t* mask(int shape, int scale, int orientation) {
  return masks().data() +
         static_cast<size_t>(sprite_of({shape, scale, orientation, 0, 0})) * kCanvas * kCanvas;
}

int count(const uint8_t* m, int n) {
  int a = 0;
  for (int i = 0; i < n; ++i) a += m[i];
  return a;
}
int area(const uint8_t* m) { return count(m, kCanvas * kCanvas); }

TEST(Dsprites, FactorsRoundTripInTheOriginalOrder) {
  EXPECT_EQ(kImages, 737280);
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{31}, int64_t{32}, int64_t{1023},
                    int64_t{400000}, kImages - 1})
    EXPECT_EQ(image_of(factors_of(i)), i);
  const Factors last = factors_of(kImages - 1);
  EXPECT_EQ(last.shape, 2);
  EXPECT_EQ(last.pos_y, 31);
  EXPECT_EQ(factors_of(1).pos_y, 1);  // posY fastest
  EXPECT_EQ(factors_of(32).pos_x, 1);
  EXPECT_DOUBLE_EQ(scale_value(5), 1.0);
  EXPECT_DOUBLE_EQ(orientation_value(39), 2 * std::numbers::pi);
}

TEST(Dsprites, MasksAreDeterministic) { EXPECT_EQ(render_masks(), masks()); }

// Half-sides are whole pixels (5 .. 10) and pixel centres sit at half pixels, so no centre lies
// on an edge: the area and the box are exact.
TEST(Dsprites, UprightSquareIsAxisAlignedWithTheExactArea) {
  for (int scale = 0; scale < kScales; ++scale) {
    const uint8_t* m = mask(0, scale, 0);
    const int half = static_cast<int>(std::lround(kBaseHalfSize * scale_value(scale)));
    EXPECT_EQ(area(m), 4 * half * half) << "scale " << scale;
    for (int y = 0; y < kCanvas; ++y)
      for (int x = 0; x < kCanvas; ++x) {
        const bool in_box = y >= 16 - half && y < 16 + half && x >= 16 - half && x < 16 + half;
        ASSERT_EQ(m[y * kCanvas + x], in_box ? 1 : 0) << "scale " << scale << " " << y << "," << x;
      }
  }
}

// No sprite reaches its canvas's border, so none is clipped and, since positions keep the
// canvas inside the frame, every image shows its whole sprite.
TEST(Dsprites, EverySpriteFitsInsideItsCanvas) {
  for (int s = 0; s < kSprites; ++s) {
    const uint8_t* m = masks().data() + static_cast<size_t>(s) * kCanvas * kCanvas;
    EXPECT_GT(area(m), 20) << "sprite " << s;
    for (int i = 0; i < kCanvas; ++i) {
      ASSERT_EQ(m[i], 0) << "sprite " << s;
      ASSERT_EQ(m[(kCanvas - 1) * kCanvas + i], 0) << "sprite " << s;
      ASSERT_EQ(m[i * kCanvas], 0) << "sprite " << s;
      ASSERT_EQ(m[i * kCanvas + kCanvas - 1], 0) << "sprite " << s;
    }
  }
}

TEST(Dsprites, UprightHeartIsMirrorSymmetricWithLobesUp) {
  for (int scale = 0; scale < kScales; ++scale) {
    const uint8_t* m = mask(2, scale, 0);
    int top = 0, bottom = 0;
    for (int y = 0; y < kCanvas; ++y)
      for (int x = 0; x < kCanvas; ++x) {
        ASSERT_EQ(m[y * kCanvas + x], m[y * kCanvas + kCanvas - 1 - x]) << y << "," << x;
        (y < kCanvas / 2 ? top : bottom) += m[y * kCanvas + x];
      }
    EXPECT_GT(top, bottom) << "scale " << scale;  // the lobes are wider than the tip
    // The notch between the lobes: the top row of the heart is not filled on the axis.
    int first_row = 0;
    while (first_row < kCanvas && count(m + first_row * kCanvas, kCanvas) == 0) ++first_row;
    ASSERT_LT(first_row, kCanvas);
    EXPECT_EQ(m[first_row * kCanvas + kCanvas / 2], 0) << "scale " << scale;
  }
}

// The ellipse's long axis (from the mask's second moments) follows the orientation, turning
// counter-clockwise on screen by 2 pi / 39 (9.2 degrees) a step. At scale 1 the ellipse is
// 20 x 10 pixels; pixelation moves the moment angle by up to 1.7 degrees there (measured over
// all 40), so 2.5 degrees holds, and a wrong direction or step fails by several degrees.
TEST(Dsprites, OrientationRotatesTheEllipseCounterClockwise) {
  for (int o = 0; o < kOrientations; ++o) {
    const uint8_t* m = mask(1, kScales - 1, o);
    double sxx = 0, syy = 0, sxy = 0;
    for (int y = 0; y < kCanvas; ++y)
      for (int x = 0; x < kCanvas; ++x) {
        if (!m[y * kCanvas + x]) continue;
        const double u = x + 0.5 - 16, v = 16 - (y + 0.5);  // y up
        sxx += u * u;
        syy += v * v;
        sxy += u * v;
      }
    const double angle = 0.5 * std::atan2(2 * sxy, sxx - syy);  // in (-pi/2, pi/2]
    double diff = std::remainder(angle - orientation_value(o), std::numbers::pi);
    EXPECT_LT(std::abs(diff), 2.5 * std::numbers::pi / 180) << "orientation " << o;
  }
}

// Rotation keeps the area: only pixels along the outline change, a few percent of a 400-pixel
// square or a 157-pixel ellipse at scale 1 (5% bounds the pixelation of a 20-pixel outline).
TEST(Dsprites, RotationKeepsTheArea) {
  for (int shape = 0; shape < kShapes; ++shape) {
    const double upright = area(mask(shape, kScales - 1, 0));
    for (int o = 1; o < kOrientations; ++o)
      EXPECT_NEAR(area(mask(shape, kScales - 1, o)), upright, 0.05 * upright)
          << "shape " << shape << " orientation " << o;
  }
  EXPECT_NEAR(area(mask(1, kScales - 1, 0)), std::numbers::pi * 10 * 5, 0.05 * 157);
  // linspace(0, 2 pi, 40): the last orientation is the first.
  for (int shape = 0; shape < kShapes; ++shape)
    EXPECT_EQ(0,
              std::memcmp(mask(shape, 3, 0), mask(shape, 3, kOrientations - 1), kCanvas * kCanvas));
}

TEST(Dsprites, RenderPlacesTheMaskAtThePosition) {
  const std::vector<int32_t> index = {static_cast<int32_t>(image_of({0, 5, 0, 0, 0})),
                                      static_cast<int32_t>(image_of({2, 1, 7, 31, 3})),
                                      static_cast<int32_t>(image_of({1, 2, 20, 9, 31})),
                                      static_cast<int32_t>(image_of({0, 0, 0, 31, 31}))};
  std::vector<float> img(index.size() * kPixels, -1.0f);
  std::vector<int32_t> labels(index.size(), -1);
  // batches_done 3, period 2: batch 1 of 2 rows, images 2 and 3.
  const int64_t done = 3;
  cpu::render_sprites(masks().data(), index.data(), &done, 2, 2, img.data(), labels.data());
  EXPECT_EQ(labels[0], 1);
  EXPECT_EQ(labels[1], 0);
  for (int r = 0; r < 2; ++r) {
    const Factors f = factors_of(index[2 + static_cast<size_t>(r)]);
    const uint8_t* m = mask(f.shape, f.scale, f.orientation);
    double sum = 0;
    for (int y = 0; y < kSide; ++y)
      for (int x = 0; x < kSide; ++x) {
        const float v = img[static_cast<size_t>(r) * kPixels + y * kSide + x];
        ASSERT_TRUE(v == 0.0f || v == 1.0f);
        sum += v;
        const int my = y - f.pos_y, mx = x - f.pos_x;
        if (my >= 0 && my < kCanvas && mx >= 0 && mx < kCanvas)
          ASSERT_EQ(v, m[my * kCanvas + mx]) << r << ": " << y << "," << x;
        else
          ASSERT_EQ(v, 0.0f);
      }
    EXPECT_EQ(sum, area(m));
  }
}

TEST(Dsprites, SplitIsAFixedPartition) {
  const Split s = make_split(kImages, 0);
  ASSERT_EQ(s.train.size(), 589824u);
  ASSERT_EQ(s.val.size(), 73728u);
  ASSERT_EQ(s.test.size(), 73728u);
  std::vector<uint8_t> seen(static_cast<size_t>(kImages), 0);
  for (const auto* part : {&s.train, &s.val, &s.test})
    for (int32_t i : *part) ++seen[static_cast<size_t>(i)];
  for (int64_t i = 0; i < kImages; ++i) ASSERT_EQ(seen[static_cast<size_t>(i)], 1) << i;
  EXPECT_EQ(make_split(kImages, 0).val, s.val);
  EXPECT_NE(make_split(kImages, 1).val, s.val);
  // Shuffled, not the identity: the held-out parts span all shapes.
  int shapes[kShapes] = {};
  for (int32_t i : s.test) ++shapes[factors_of(i).shape];
  for (int c : shapes) EXPECT_NEAR(c, 73728 / 3, 1000);
}

TEST(Dsprites, TargetsAreZScoredOverAllImages) {
  double sum[kTargets] = {}, sq[kTargets] = {}, t[kTargets];
  for (int64_t i = 0; i < kImages; ++i) {
    probe_targets(i, t);
    for (int k = 0; k < kTargets; ++k) sum[k] += t[k], sq[k] += t[k] * t[k];
  }
  for (int k = 0; k < kTargets; ++k) {
    EXPECT_NEAR(sum[k] / kImages, 0.0, 1e-9) << kTargetNames[k];
    EXPECT_NEAR(sq[k] / kImages, 1.0, 1e-9) << kTargetNames[k];
  }
}

// Features that are the targets give r = 1; features of noise give |r| of order
// 1 / sqrt(rows): 5 / sqrt(4096) bounds it with a wide margin.
TEST(Dsprites, ProbeRecoversLinearFeaturesAndNotNoise) {
  const Split s = make_split(kImages, 0);
  const std::vector<int32_t> fit(s.val.begin(), s.val.begin() + 4096),
      score(s.test.begin(), s.test.begin() + 4096);
  const ProbeScores exact = correlate_factors(
      data(), fit, score, kTargets, 1000, [](const int32_t* im, int64_t n, float* out) {
        double t[kTargets];
        for (int64_t r = 0; r < n; ++r) {
          probe_targets(im[r], t);
          for (int k = 0; k < kTargets; ++k) out[r * kTargets + k] = static_cast<float>(3 * t[k]);
        }
      });
  // Only the features' float rounding (1e-7 relative) separates the fit from the targets.
  for (double r : exact) EXPECT_GT(r, 1 - 1e-6);
  std::mt19937 gen(5);
  std::normal_distribution<float> noise;
  const ProbeScores none =
      correlate_factors(data(), fit, score, 8, 1000, [&](const int32_t*, int64_t n, float* out) {
        for (int64_t i = 0; i < n * 8; ++i) out[i] = noise(gen);
      });
  for (double r : none) EXPECT_LT(std::abs(r), 5 / std::sqrt(4096.0));
}

TEST(Dsprites, BadKeysNameTheKey) {
  auto message = [](const std::string& set) {
    try {
      dislib::load_run_config_text("", "", {set});
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("train.batch=1").find("train.batch"), std::string::npos);
  EXPECT_NE(message("train.max_epochs=0").find("train.max_epochs"), std::string::npos);
  EXPECT_NE(message("train.lr=-1").find("train.lr"), std::string::npos);
  EXPECT_NE(message("probe.fit=80000").find("probe.fit"), std::string::npos);
  EXPECT_NE(message("model.width=0").find("model.width"), std::string::npos);
  EXPECT_NE(message("model.kind=cnn").find("pixels, linear, mlp"), std::string::npos);
  EXPECT_NE(message("data.name=mnist").find("unknown dataset 'mnist'"), std::string::npos);
  EXPECT_NE(message("train.stop_acc=1.5").find("train.stop_acc"), std::string::npos);
  EXPECT_NE(message("train.repeat=3").find("unknown key 'train.repeat'"), std::string::npos);
  EXPECT_EQ(message("train.repeats=3"), "no error");
}

TEST(Dsprites, CliErrorsAreOneLine) {
  for (const auto& [args, needle] : std::vector<std::pair<std::string, std::string>>{
           {"dislib --set train.batch=1 --out /tmp/xent_dsprites_bad", "train.batch"},
           {"dislib --set probe.score=1 --out /tmp/xent_dsprites_bad", "probe.score"},
           {"dislib --model cnn --out /tmp/xent_dsprites_bad", "model.kind"},
           {"dislib --resume /nonexistent/run", "/nonexistent/run/config.toml"},
           {"dislib --render /nonexistent/dir/sheet.png", "/nonexistent/dir/sheet.png"}}) {
    const test::XentResult r = test::run_xent(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << "\n" << r.err;
  }
}

TEST(Dsprites, RenderWritesAPng) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("xent_dsprites_sheet_" + std::to_string(getpid()) + ".png");
  std::filesystem::remove(path);
  const test::XentResult r = test::run_xent("dislib -q --render " + path.string());
  ASSERT_EQ(r.code, 0) << r.err;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  unsigned char head[8] = {};
  EXPECT_EQ(std::fread(head, 1, 8, f), 8u);
  std::fclose(f);
  EXPECT_EQ(0, std::memcmp(head, "\x89PNG\r\n\x1a\n", 8));
}

// A few seconds of training on small batches: the classifier already beats chance (1/3) on
// shape, and its representation, like any random projection of the pixels, carries position
// linearly. The bounds are far from what a broken pipeline gives (acc ~ 1/3, r ~ 0).
TEST(Dsprites, ShortTrainingLearnsShapeAndTheProbeBeatsChance) {
  CpuBackend cpu;
  dislib::RunConfig o;
  o.batch = 256;
  o.width = 64;
  o.repeats = 1;
  dislib::ClassifierTrainer model(cpu, o);
  const Split& split = model.splits()[0];
  const std::vector<int32_t> fit(split.val.begin(), split.val.begin() + 2048);
  const std::vector<int32_t> score(split.test.begin(), split.test.begin() + 2048);
  const dislib::EvalResult before = model.evaluate({fit})[0];
  for (int s = 0; s < 40; ++s) model.step();
  const dislib::EvalResult after = model.evaluate({fit})[0];
  EXPECT_LT(after.loss, before.loss);
  EXPECT_GT(after.acc, 0.5);
  const ProbeScores r = correlate_factors(
      data(), fit, score, o.width, o.batch,
      [&](const int32_t* im, int64_t n, float* f) { model.features(0, im, n, f); });
  EXPECT_GT(r[0], 0.3);  // shape
  EXPECT_GT(r[4], 0.5);  // posX
  EXPECT_GT(r[5], 0.5);  // posY
}

}  // namespace
}  // namespace xent::dsprites
