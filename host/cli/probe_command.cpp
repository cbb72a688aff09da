// `xent probe`: the linear identifiability metrics between two .npy arrays.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "xent/error.h"
#include "xent/metrics.h"
#include "xent/npy.h"

namespace xent::cli {
namespace {

struct ProbeOptions {
  std::string features;
  std::string targets;
  double split = 0.5;
  double scale = 1.0;
  bool json = false;
};

struct Columns {
  int64_t rows = 0;
  int cols = 0;
  std::vector<double> data;
};

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

Columns load_columns(const std::string& path) {
  NpyArray a = read_npy(path);
  if (a.shape.empty() || a.shape.size() > 2) {
    throw InputError(path + ": expected a 1-D or 2-D array (rows of samples), got shape " +
                     shape_text(a.shape));
  }
  Columns c;
  c.rows = a.shape[0];
  const int64_t cols = a.shape.size() == 2 ? a.shape[1] : 1;
  if (cols < 1) throw InputError(path + ": has no columns (shape " + shape_text(a.shape) + ")");
  if (cols > INT_MAX) throw InputError(path + ": too many columns (" + std::to_string(cols) + ")");
  c.cols = static_cast<int>(cols);
  if (c.rows < 2) {
    throw InputError(path + ": need at least 2 rows, got " + std::to_string(c.rows));
  }
  // Checked here as well as in probe_linear so that the message can name the file.
  for (size_t i = 0; i < a.data.size(); ++i) {
    if (!std::isfinite(a.data[i])) {
      throw InputError(path + ": non-finite value " + (std::isnan(a.data[i]) ? "nan" : "inf") +
                       " at row " + std::to_string(i / c.cols) + ", column " +
                       std::to_string(i % c.cols) + " (0-based)");
    }
  }
  c.data = std::move(a.data);
  return c;
}

std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

void run_probe(const ProbeOptions& o) {
  if (!(o.split > 0 && o.split <= 1)) {
    throw InputError("--split must be the fraction of rows that fit, in (0, 1]; got " +
                     general(o.split));
  }
  if (!(o.scale >= 0) || !std::isfinite(o.scale)) {
    throw InputError("--scale must be a finite number >= 0; got " + general(o.scale));
  }
  const Columns x = load_columns(o.features);
  const Columns y = load_columns(o.targets);
  if (x.rows != y.rows) {
    throw InputError(o.features + " has " + std::to_string(x.rows) + " rows but " + o.targets +
                     " has " + std::to_string(y.rows) +
                     " rows; probing needs one row per sample in both");
  }
  const int64_t n = x.rows;
  // The same rule as probe_linear (see metrics.h), repeated to report the counts.
  int64_t n_fit = o.split >= 1 ? n : std::llround(static_cast<double>(n) * o.split);
  if (o.split >= 1 || n_fit < x.cols + 1 || n - n_fit < x.cols + 1) n_fit = n;
  const int64_t n_score = n_fit == n ? n : n - n_fit;

  const ProbeResult r =
      probe_linear(x.data.data(), n, x.cols, y.data.data(), y.cols, o.split, o.scale);

  if (o.json) {
    const nlohmann::json j = {{"r2_a", r.r2_a},         {"r2_o", r.r2_o},      {"mae_o", r.mae_o},
                              {"mcc", r.mcc},           {"n_fit", n_fit},      {"n_score", n_score},
                              {"features", o.features}, {"targets", o.targets}};
    std::cout << j.dump() << '\n';
    return;
  }

  std::cout << "features  " << o.features << "  [" << n << " x " << x.cols << "]\n"
            << "targets   " << o.targets << "  [" << n << " x " << y.cols << "]\n";
  if (n_fit == n) {
    std::cout << "rows      all " << n << " fit and score (in-sample)\n\n";
  } else {
    std::cout << "rows      " << n_fit << " fit (0.." << n_fit - 1 << "), " << n_score << " score ("
              << n_fit << ".." << n - 1 << ")\n\n";
  }
  const std::vector<std::vector<std::string>> rows = {
      {"metric", "value", "meaning"},
      {"r2_a", fixed(r.r2_a), "R^2 of the linear fit with intercept, mean over target columns"},
      {"r2_o", fixed(r.r2_o), "R^2 of the linear fit without intercept"},
      {"mae_o", fixed(r.mae_o),
       "mean |singular value of the no-intercept map - " + general(o.scale) +
           "| (0: scaled orthogonal)"},
      {"mcc", fixed(r.mcc), "mean |Pearson r| of feature/target columns matched one-to-one"},
  };
  size_t w0 = 0, w1 = 0;
  for (const auto& row : rows) {
    w0 = std::max(w0, row[0].size());
    w1 = std::max(w1, row[1].size());
  }
  for (const auto& row : rows) {
    // Values right-aligned so that signs and decimal points line up.
    const std::string value =
        row[1] == "value" ? pad(row[1], w1) : std::string(w1 - row[1].size(), ' ') + row[1];
    std::cout << pad(row[0], w0) << "  " << value << "  " << row[2] << '\n';
  }
}

constexpr const char* kFooter =
    R"(Arrays hold one sample per row: features [n][p] (e.g. encoder outputs) and
targets [n][q] (e.g. ground-truth latents), float32 or float64 (int32/int64 also
accepted); a 1-D array is treated as one column. The first round(n * split) rows
fit the linear maps from features to targets and the remaining rows score them.
When split is 1, or either part would have fewer than p + 1 rows, all rows both
fit and score (in-sample).

Metrics:
  r2_a   R^2 = 1 - SS_res / SS_tot of least squares with intercept, per target
         column on the scoring rows, averaged over columns. 1: the targets are
         a linear function of the features; 0: no better than their mean.
  r2_o   the same fit without intercept.
  mae_o  mean over min(p, q) singular values s of the no-intercept map of
         |s - scale|. 0: the map is scale times an orthogonal matrix. For an
         encoder trained at vMF concentration kappa probed against the latents,
         use --scale 1/kappa; against the class vectors, 1.
  mcc    mean |Pearson r| between feature and target columns on the scoring
         rows, paired one-to-one by the Hungarian algorithm to maximise the
         total. 1: each target is a rescaled, shifted copy of one feature.
  A target constant on the scoring rows counts as R^2 1 when predicted exactly
  and 0 otherwise; constant columns have correlation 0.

Examples:
  xent probe --features f.npy --targets z.npy --scale 0.1
  xent probe --features f.npy --targets z.npy --split 1 --json)";

}  // namespace

void add_probe(CLI::App& app) {
  auto opts = std::make_shared<ProbeOptions>();
  CLI::App* sub = app.add_subcommand(
      "probe", "Linear identifiability metrics (R^2, MAE_o, MCC) from features to targets");
  sub->add_option("--features", opts->features, "features .npy, [n][p] or [n]")
      ->required()
      ->type_name("F.npy");
  sub->add_option("--targets", opts->targets, "targets .npy, [n][q] or [n]")
      ->required()
      ->type_name("T.npy");
  sub->add_option("--split", opts->split,
                  "fraction of rows (from the start) that fit; the rest score")
      ->capture_default_str();
  sub->add_option("--scale", opts->scale,
                  "singular value that mae_o compares with (1/kappa for latents)")
      ->capture_default_str();
  sub->add_flag("--json", opts->json, "print one JSON object instead of the table");
  sub->footer(kFooter);
  sub->callback([opts] { run_probe(*opts); });
}

}  // namespace xent::cli
