// The figure canvas: where its text, lines and discs land.
#include "io/chart.h"

#include <gtest/gtest.h>

#include <string>

namespace xent {
namespace {

constexpr Rgb kWhite = {255, 255, 255}, kRed = {200, 0, 0};

bool is(Rgb a, Rgb b) { return a.r == b.r && a.g == b.g && a.b == b.b; }

// The bounding box of the pixels of colour c: {x0, y0, x1, y1}, x1 and y1 exclusive; all -1 if
// none.
std::vector<int> box(const Canvas& c, Rgb col) {
  std::vector<int> b = {c.width(), c.height(), -1, -1};
  for (int y = 0; y < c.height(); ++y)
    for (int x = 0; x < c.width(); ++x)
      if (is(c.at(x, y), col)) {
        b[0] = std::min(b[0], x);
        b[1] = std::min(b[1], y);
        b[2] = std::max(b[2], x + 1);
        b[3] = std::max(b[3], y + 1);
      }
  if (b[2] < 0) return {-1, -1, -1, -1};
  return b;
}

TEST(Chart, TextStaysInsideItsWidthAndHeight) {
  for (const int scale : {1, 2}) {
    Canvas c(300, 100, kWhite);
    const std::string s = "probe 0.5 +- SEM";
    c.text(20, 10, s, kRed, scale);
    const auto b = box(c, kRed);
    ASSERT_GE(b[0], 20);
    EXPECT_LE(b[2], 20 + Canvas::text_width(s, scale));
    EXPECT_GT(b[2], 20 + Canvas::text_width(s, scale) * 3 / 4);  // the text fills its width
    EXPECT_GE(b[1], 10);
    EXPECT_LE(b[3], 10 + Canvas::text_height(scale));
  }
}

TEST(Chart, AlignedAndUpwardTextLandWhereAsked) {
  const std::string s = "background";
  const int w = Canvas::text_width(s, 2), h = Canvas::text_height(2);
  Canvas right(300, 60, kWhite);
  right.text(250, 5, s, kRed, 2, Align::kRight);
  EXPECT_LE(box(right, kRed)[2], 250);
  EXPECT_GT(box(right, kRed)[2], 250 - w / 8);
  // Turned upwards: as wide as the text is tall, as tall as it is wide, ending at y = 10.
  Canvas up(60, 300, kWhite);
  up.text_up(30, 10, s, kRed, 2);
  const auto b = box(up, kRed);
  EXPECT_GE(b[1], 10);
  EXPECT_LE(b[3], 10 + w);
  EXPECT_GT(b[3] - b[1], w * 3 / 4);
  EXPECT_GE(b[0], 30 - h / 2);
  EXPECT_LE(b[2], 30 + h / 2);
  // Its first letter is at the bottom: reading upwards, not downwards.
  const std::string b_then_spaces = "b    ";
  Canvas first(60, 300, kWhite);
  first.text_up(30, 10, b_then_spaces, kRed, 2);
  EXPECT_GE(box(first, kRed)[1],
            10 + Canvas::text_width(b_then_spaces, 2) - Canvas::text_width("b", 2));
}

TEST(Chart, LinesDashesAndDiscs) {
  Canvas c(100, 100, kWhite);
  c.hline(10, 49, 20, kRed, 5);
  int painted = 0;
  for (int x = 0; x < 100; ++x) painted += is(c.at(x, 20), kRed);
  EXPECT_EQ(painted, 20);  // dashes of 5 from x = 10, 20, 30, 40
  EXPECT_TRUE(is(c.at(14, 20), kRed));
  EXPECT_TRUE(is(c.at(15, 20), kWhite));
  Canvas d(100, 100, kWhite);
  d.disc(50.0, 50.0, 4.0, kRed);
  EXPECT_EQ(box(d, kRed), (std::vector<int>{46, 46, 54, 54}));
  d.fill(-5, -5, 3, 3, kRed);  // clipped to the canvas
  EXPECT_TRUE(is(d.at(0, 0), kRed));
  EXPECT_TRUE(is(d.at(3, 3), kWhite));
}

}  // namespace
}  // namespace xent
