// The classification probe of the paper's ImageNet-X experiment (the reference code's
// imagenetx/decode.py), for any feature sets and binary targets: which factors of variation a
// representation makes linearly decodable.
//
// Per feature set: columns with mean <= 0 dropped (the reference's filter; optional) and columns
// that are constant, then every column z-scored over all rows (numpy's std, ddof 0). Per target
// and repeat r (seed + r): a stratified split (test_fraction of each class to the test part, by
// a Philox shuffle of each class's rows on stream = target index), each part balanced by
// keeping the first rows of each class up to the minority class's count, and an L2 logistic
// regression (include/xent/logistic.h, scikit-learn's objective) fitted on the balanced training
// part and scored on both balanced parts (include/xent/classification.h). All targets x repeats
// of a feature set are one batch of fits on the shared matrix. repeats = 0 fits each target
// once on all rows, unsplit and unbalanced, and keeps the weights.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/classification.h"

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

// Binary targets over the same rows: labels[t][row] is 0 or 1.
struct BinaryTargets {
  std::vector<std::string> names;
  std::vector<std::vector<uint8_t>> labels;
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
  int kept = 0;     // columns after the filters
  int dropped = 0;  // columns the filters removed
  std::vector<FactorScore> scores;
  // With repeats = 0: [targets][kept] and [targets], in the filtered, standardised space.
  std::vector<double> weights, intercepts;
};

// Throws InputError naming the feature set or target: rows that do not match, a constant
// target, NaN or inf in the features, every column filtered away, a part with fewer than 2
// rows of a class, bad options.
FactorProbe probe_factors(Backend& b, const FeatureSet& features, const BinaryTargets& targets,
                          const FactorProbeOptions& o);

}  // namespace xent
