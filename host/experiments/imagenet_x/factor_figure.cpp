#include "experiments/imagenet_x/factor_figure.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <tuple>

#include "io/chart.h"
#include "xent/t_test.h"

namespace xent {
namespace {

// matplotlib's first colours (its tab10 cycle), so the figure reads like tools/plot_factors.py.
constexpr Rgb kColours[] = {{31, 119, 180},  {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                            {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};
constexpr Rgb kInk = {40, 40, 40}, kGrid = {225, 225, 225}, kChance = {120, 120, 120};
constexpr int kScale = 2;  // pixels per font unit: glyphs about 14 pixels tall

struct Cell {
  std::vector<double> acc;  // per repeat
  double mean = NAN, sem = 0.0;
};

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

void write_factor_figure(const std::string& path, const std::vector<FactorProbe>& probes,
                         const std::vector<std::string>& targets, const std::string& part) {
  const int S = static_cast<int>(probes.size()), T = static_cast<int>(targets.size());
  std::vector<std::vector<Cell>> cells(static_cast<size_t>(S), std::vector<Cell>(T));
  for (int s = 0; s < S; ++s) {
    for (const FactorScore& sc : probes[s].scores) {
      if (sc.part != part || !std::isfinite(sc.metrics.accuracy)) continue;
      const auto t = std::find(targets.begin(), targets.end(), sc.target) - targets.begin();
      if (t < T) cells[s][t].acc.push_back(sc.metrics.accuracy);
    }
    for (Cell& c : cells[s])
      if (!c.acc.empty()) std::tie(c.mean, c.sem) = mean_sem(c.acc);
  }
  std::vector<double> chance(static_cast<size_t>(T), 0.5);
  bool all_binary = true;
  for (int t = 0; t < T; ++t) {
    const int K = probes.front().classes.empty() ? 2 : probes.front().classes[t];
    chance[t] = 1.0 / K;
    all_binary = all_binary && K == 2;
  }
  // Targets by the first feature set's mean accuracy, best first (targets it lacks last).
  std::vector<int> order(static_cast<size_t>(T));
  std::iota(order.begin(), order.end(), 0);
  const auto key = [&](int t) { return std::isnan(cells[0][t].mean) ? -1.0 : cells[0][t].mean; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return key(a) > key(b); });

  // The value range: every bar and chance level, room above for the stars, in steps of 0.1.
  double lo = 1.0, hi = 0.0;
  for (int t = 0; t < T; ++t) {
    lo = std::min(lo, chance[t]);
    hi = std::max(hi, chance[t]);
    for (int s = 0; s < S; ++s)
      if (!std::isnan(cells[s][t].mean)) {
        lo = std::min(lo, cells[s][t].mean - cells[s][t].sem);
        hi = std::max(hi, cells[s][t].mean + cells[s][t].sem);
      }
  }
  lo = std::floor((lo - 0.02) * 10.0) / 10.0;
  hi = std::ceil((hi + 0.04) * 10.0) / 10.0;
  const double step = hi - lo > 0.65 ? 0.2 : 0.1;

  // Layout: title and legend above, the value axis left, target names (reading upwards) below.
  int label_w = 0;
  for (const std::string& t : targets) label_w = std::max(label_w, Canvas::text_width(t, kScale));
  const int line = Canvas::text_height(kScale);
  const int left = 30 + line + Canvas::text_width("0.00", kScale), top = 20 + 3 * line;
  const int plot_w = std::max(480, 44 * T), plot_h = 360;
  const int bottom = top + plot_h, right = left + plot_w;
  const std::string title =
      "Decoding factors from features (* p < 0.05 / " + std::to_string(T * S) + ")";
  const std::string chance_label = all_binary ? "chance (0.5)" : "chance (1/K)";
  int legend_w = 26 + Canvas::text_width(chance_label, kScale);
  for (const FactorProbe& p : probes) legend_w += 30 + Canvas::text_width(p.features, kScale);
  const int width =
      std::max({right + 24, Canvas::text_width(title, kScale) + 40, left + legend_w + 24});
  Canvas c(width, bottom + 16 + label_w, {255, 255, 255});
  const auto y_of = [&](double v) {
    return bottom - static_cast<int>(std::lround((v - lo) / (hi - lo) * plot_h));
  };

  for (double v = lo; v <= hi + 1e-9; v += step) {
    const int y = y_of(v);
    c.hline(left, right, y, kGrid);
    c.hline(left - 5, left, y, kInk);
    c.text(left - 8, y - line / 2 + 2, fixed(v, 1), kInk, kScale, Align::kRight);
  }
  const int slot = plot_w / std::max(T, 1);
  for (int i = 0; i < T; ++i) {
    const int t = order[i], x0 = left + i * slot;
    if (!all_binary) c.hline(x0 + 2, x0 + slot - 2, y_of(chance[t]), kChance, 4);
    c.text_up(x0 + slot / 2, bottom + 10, targets[t], kInk, kScale);
  }
  if (all_binary) c.hline(left, right, y_of(0.5), kChance, 6);
  const double alpha = 0.05 / (static_cast<double>(T) * S);
  for (int s = 0; s < S; ++s) {
    const Rgb col = kColours[s % (sizeof kColours / sizeof kColours[0])];
    for (int i = 0; i < T; ++i) {
      const int t = order[i];
      const Cell& cell = cells[s][t];
      if (std::isnan(cell.mean)) continue;
      const int x = left + i * slot + static_cast<int>(slot * (0.1 + 0.8 * (s + 0.5) / S));
      const int y_hi = y_of(cell.mean + cell.sem), y_lo = y_of(cell.mean - cell.sem);
      c.vline(x, y_hi, y_lo, col);
      c.hline(x - 3, x + 3, y_hi, col);
      c.hline(x - 3, x + 3, y_lo, col);
      c.disc(x + 0.5, y_of(cell.mean) + 0.5, 4.0, col);
      const double p = t_test_p(cell.acc, chance[t]);
      if (p < alpha) c.text(x + 1, y_hi - line - 2, "*", kInk, kScale, Align::kCenter);
    }
  }
  c.vline(left, top, bottom, kInk);
  c.hline(left, right, bottom, kInk);
  const std::string y_title = "accuracy (" + part + "), mean +- SEM";
  c.text_up(14 + line / 2, top + (plot_h - Canvas::text_width(y_title, kScale)) / 2, y_title, kInk,
            kScale);
  c.text(width / 2, 8, title, kInk, kScale, Align::kCenter);
  // The legend: a marker and the name of each feature set, then the chance line.
  int x = left;
  const int y = 14 + line;
  for (int s = 0; s < S; ++s) {
    c.disc(x + 5, y + line / 2 - 2, 4.0, kColours[s % (sizeof kColours / sizeof kColours[0])]);
    c.text(x + 14, y, probes[s].features, kInk, kScale);
    x += 30 + Canvas::text_width(probes[s].features, kScale);
  }
  c.hline(x, x + 20, y + line / 2 - 2, kChance, 4);
  c.text(x + 26, y, chance_label, kInk, kScale);
  c.write_png(path);
}

}  // namespace xent
