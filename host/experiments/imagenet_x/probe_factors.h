// The classification probe of the paper's ImageNet-X experiment (the reference code's
// imagenetx/decode.py), for any feature sets and targets of two or more classes: which factors
// of variation a representation makes linearly decodable.
//
// Per feature set: columns with mean <= 0 dropped (the reference's filter; optional) and columns
// that are constant, then every column z-scored over all rows (numpy's std, ddof 0). Per target
// and repeat r (seed + r): a stratified split (test_fraction of each class to the test part, by
// a Philox shuffle of each class's rows on stream = target index), each part balanced by
// keeping the first rows of each class up to the minority class's count, and an L2 logistic
// regression (include/xent/logistic.h, scikit-learn's objective) fitted on the balanced training
// part and scored on both balanced parts (include/xent/classification.h). The targets x repeats
// of a feature set with the same number of classes are fitted together (fit_target_batches).
// repeats = 0 fits each target once on all rows, unsplit and unbalanced, and keeps the weights.
//
// A target of K >= 3 classes (labels 0 .. K-1, every class present) is the multinomial fit of
// the same estimator (include/xent/logistic.h, LogisticOptions::classes), split stratified per
// class and balanced to the smallest class's count in each part, and scored by
// multiclass_metrics (accuracy, macro precision, recall and F1; the binary-only metrics NaN).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/classification.h"
#include "xent/logistic.h"

namespace xent {

struct FactorProbeOptions {
  int repeats = 10;
  double test_fraction = 0.3;
  bool balance = true;
  bool positive_mean_filter = true;  // --feature-filter positive-mean (false: none)
  double C = 1.0;
  uint64_t seed = 42;
};

struct FeatureSet {
  std::string name;
  int64_t rows = 0;
  int cols = 0;
  std::vector<double> x;  // [rows][cols]
};

// Targets over the same rows: labels[t][row] is a class index, 0 or 1 for a binary target,
// 0 .. K-1 for one of K classes (K = the largest label + 1).
struct FactorTargets {
  std::vector<std::string> names;
  std::vector<std::vector<int32_t>> labels;
};

struct FactorScore {
  std::string target;
  int repeat = 0;    // 0-based; with repeats = 0, the one fit on all rows
  std::string part;  // "train", "test", or "all"
  int64_t rows = 0;  // rows scored
  BinaryMetrics metrics;
  bool converged = true;  // the fit reached the stopping rule's gradient tolerance
  int iterations = 0;     // its L-BFGS iterations
};

struct FactorProbe {
  std::string features;
  int kept = 0;                     // columns after the filters
  int dropped = 0;                  // columns the filters removed
  std::vector<FactorScore> scores;  // by target, then repeat, then part
  std::vector<int> classes;         // [targets]: K of each target (2: binary)
  // With repeats = 0, in the filtered, standardised space: per target in order its k rows of
  // [kept] weights and its k intercepts, k = 1 for a binary target and K otherwise (so
  // [targets][kept] and [targets] when every target is binary).
  std::vector<double> weights, intercepts;
};

// The F = G targets x R repeats fits of one kind of target (fit g R + r: target g, repeat r) on
// x [n][p] (on the host, and in backend memory as x_device), labels and 0/1 weights [n][F] on
// the host. A fit's cost is its batch's rows times its iterations, and a balanced part of a rare
// factor selects a few hundred of ImageNet-X's 46,110 rows: a target whose fits together touch
// at most half the rows is solved alone on those rows, gathered once in their order; the other
// targets share one batch over all rows, so that their fits share each pass over x. Rows of zero
// weight add nothing to a fit's objective or gradient, so the optimum is the same either way.
LogisticFits fit_target_batches(Backend& b, const std::vector<float>& x, const float* x_device,
                                int64_t n, int p, const std::vector<float>& labels,
                                const std::vector<float>& weights, int G, int R,
                                const LogisticOptions& o);

// Throws InputError naming the feature set or target: rows that do not match, a constant
// target, a negative label, NaN or inf in the features, every column filtered away, a part with
// fewer than 2 rows of a class, bad options.
FactorProbe probe_factors(Backend& b, const FeatureSet& features, const FactorTargets& targets,
                          const FactorProbeOptions& o);

}  // namespace xent
