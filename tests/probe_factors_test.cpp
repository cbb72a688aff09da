// The classification probe: the binary metrics against scikit-learn's definitions on cases
// worked by hand, and the ImageNet-X protocol (filters, split, balance, repeats, errors).
#include "experiments/imagenet_x/probe_factors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "cpu/cpu_backend.h"
#include "xent/classification.h"
#include "xent/error.h"

namespace xent {
namespace {

// scikit-learn's documented example (precision_recall_curve's docstring): y = [0, 0, 1, 1],
// scores [0.1, 0.4, 0.35, 0.8]. Curve points (recall, precision): (1, .5) (1, 2/3) (.5, .5)
// (.5, 1) (0, 1): PR-AUC = .5 (2/3 + 1/2) / 2 + .5 = 0.791666...; ROC-AUC 0.75 (3 of the 4
// positive-negative pairs ordered). Predictions > 0.5: [0, 0, 0, 1]: tp 1, tn 2, fn 1, fp 0.
TEST(BinaryMetrics, MatchScikitLearnsDefinitionsOnItsExample) {
  const BinaryMetrics m = binary_metrics({0, 0, 1, 1}, {0.1, 0.4, 0.35, 0.8});
  EXPECT_DOUBLE_EQ(m.accuracy, 0.75);
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  EXPECT_DOUBLE_EQ(m.f1, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.pearson, 2.0 / std::sqrt(12.0));
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.75);
  EXPECT_DOUBLE_EQ(m.pr_auc, 0.5 * (2.0 / 3.0 + 0.5) / 2 + 0.5);
}

// One threshold for tied scores: a constant score ranks nothing (ROC-AUC 0.5) and its PR curve
// is (1, positive rate) then (0, 1). A constant prediction has no Pearson r, and predicting no
// positive gives precision 0 (scikit-learn's zero_division) and F1 0.
TEST(BinaryMetrics, TiesAndConstantPredictions) {
  const BinaryMetrics m = binary_metrics({0, 1, 0, 1, 1}, {0.3, 0.3, 0.3, 0.3, 0.3});
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.5);
  EXPECT_DOUBLE_EQ(m.pr_auc, (0.6 + 1.0) / 2);
  EXPECT_TRUE(std::isnan(m.pearson));
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_DOUBLE_EQ(m.accuracy, 0.4);
  // A probability of exactly 0.5 predicts class 0, as predict()'s argmax does.
  EXPECT_DOUBLE_EQ(binary_metrics({1}, {0.5}).accuracy, 0.0);
  EXPECT_THROW(binary_metrics({1, 0}, {0.5}), InputError);
}

// ROC-AUC is the fraction of positive-negative pairs ranked right, ties counting half: checked
// against that count on random scores with many ties.
TEST(BinaryMetrics, RocAucIsThePairCount) {
  std::mt19937 gen(5);
  std::vector<uint8_t> y(300);
  std::vector<double> p(300);
  for (size_t i = 0; i < y.size(); ++i) {
    y[i] = gen() % 3 == 0;
    p[i] = static_cast<double>(gen() % 20 + (y[i] ? 4 : 0)) / 30.0;
  }
  double pairs = 0, right = 0;
  for (size_t i = 0; i < y.size(); ++i)
    for (size_t j = 0; j < y.size(); ++j)
      if (y[i] && !y[j]) {
        pairs += 1;
        right += p[i] > p[j] ? 1.0 : p[i] == p[j] ? 0.5 : 0.0;
      }
  EXPECT_NEAR(binary_metrics(y, p).roc_auc, right / pairs, 1e-12);
}

// Features: column 0 decides target "sign" exactly, column 1 is noise, column 2 has a negative
// mean (the positive-mean filter drops it), column 3 is constant.
struct Data {
  FeatureSet f;
  FactorTargets t;
};

Data make_data(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal;
  Data d;
  d.f = {"toy", n, 4, {}};
  d.t.names = {"sign", "rare"};
  d.t.labels.assign(2, std::vector<int32_t>(static_cast<size_t>(n)));
  for (int64_t i = 0; i < n; ++i) {
    const double a = normal(gen) + 1.0, b = normal(gen) + 1.0;
    d.f.x.insert(d.f.x.end(), {a, b, normal(gen) - 5.0, 2.0});
    d.t.labels[0][i] = a > 1.0;
    d.t.labels[1][i] = i % 10 == 0;  // 10% positives, unrelated to the features
  }
  return d;
}

TEST(ProbeFactors, DecodableFactorsScoreHighAndNoiseAtChance) {
  const Data d = make_data(2000, 1);
  CpuBackend cpu(1);
  const FactorProbe p = probe_factors(cpu, d.f, d.t, {});
  EXPECT_EQ(p.kept, 2);  // the negative-mean and the constant column are gone
  EXPECT_EQ(p.dropped, 2);
  ASSERT_EQ(p.scores.size(), 2u * 10 * 2);  // targets x repeats x parts
  double sign_test = 0, rare_test = 0;
  for (const FactorScore& s : p.scores) {
    EXPECT_TRUE(s.converged) << s.target << " " << s.repeat << " " << s.part;
    if (s.part != "test") {
      continue;
    }
    (s.target == "sign" ? sign_test : rare_test) += s.metrics.accuracy / 10;
  }
  EXPECT_GT(sign_test, 0.97);
  EXPECT_NEAR(rare_test, 0.5, 0.1);  // balanced parts: chance is 0.5
}

// The split: each class's test share is round(0.3 n_c); balancing keeps min(class counts) of
// each class per part. "rare" (200 of 2000 positive): test 60 + 60 rows, train 140 + 140.
TEST(ProbeFactors, SplitsAreStratifiedAndBalanced) {
  const Data d = make_data(2000, 2);
  CpuBackend cpu(1);
  FactorProbeOptions o;
  o.repeats = 2;
  const FactorProbe p = probe_factors(cpu, d.f, d.t, o);
  for (const FactorScore& s : p.scores)
    if (s.target == "rare") {
      EXPECT_EQ(s.rows, s.part == "test" ? 120 : 280) << s.part;
    }
  o.balance = false;
  const FactorProbe q = probe_factors(cpu, d.f, d.t, o);
  for (const FactorScore& s : q.scores)
    if (s.target == "rare") {
      EXPECT_EQ(s.rows, s.part == "test" ? 600 : 1400) << s.part;
    }
}

TEST(ProbeFactors, RepeatsZeroFitsAllRowsAndKeepsTheWeights) {
  const Data d = make_data(1000, 3);
  CpuBackend cpu(1);
  FactorProbeOptions o;
  o.repeats = 0;
  o.positive_mean_filter = false;
  const FactorProbe p = probe_factors(cpu, d.f, d.t, o);
  EXPECT_EQ(p.kept, 3);  // only the constant column goes
  ASSERT_EQ(p.weights.size(), 2u * 3);
  ASSERT_EQ(p.intercepts.size(), 2u);
  ASSERT_EQ(p.scores.size(), 2u);
  EXPECT_EQ(p.scores[0].part, "all");
  EXPECT_EQ(p.scores[0].rows, 1000);
  // "sign" is column 0 > its mean: the weight on the (standardised) column 0 dominates.
  EXPECT_GT(std::fabs(p.weights[0]), 10 * std::fabs(p.weights[1]));
}

void expect_refused(const Data& d, const FactorProbeOptions& o, const std::string& needle) {
  CpuBackend cpu(1);
  try {
    probe_factors(cpu, d.f, d.t, o);
    ADD_FAILURE() << "accepted; expected: " << needle;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ProbeFactors, BadInputIsRefusedByName) {
  const FactorProbeOptions o;
  Data d = make_data(200, 4);
  d.t.labels[1].assign(200, 1);
  expect_refused(d, o, "target rare: constant");
  d = make_data(200, 4);
  d.f.x[5] = std::nan("");
  expect_refused(d, o, "features toy: non-finite value at row 1, column 1");
  d = make_data(200, 4);
  for (size_t i = 0; i < d.f.x.size(); ++i) d.f.x[i] = -1.0 - static_cast<double>(i % 7);
  expect_refused(d, o, "features toy: every column was removed");
  d = make_data(200, 4);
  d.t.labels[1].assign(200, 0);
  d.t.labels[1][0] = d.t.labels[1][1] = d.t.labels[1][2] = 1;  // 3 positives: 1 to test
  expect_refused(d, o, "target rare, repeat 0, test part: fewer than 2 rows of class 1");
  d = make_data(200, 4);
  d.t.labels[0].pop_back();
  expect_refused(d, o, "target sign: 199 rows, but features toy have 200");
  FactorProbeOptions bad;
  bad.test_fraction = 1.0;
  expect_refused(make_data(200, 4), bad, "--test-fraction");
}

// Multiclass metrics against scikit-learn's definitions, by hand: labels 0 0 1 1 2 2, predicted
// 0 1 1 1 0 2. Precision per class 1/2, 2/3, 1; recall 1/2, 1, 1/2; F1 1/2, 4/5, 2/3.
TEST(MulticlassMetrics, MacroAveragesByHand) {
  const BinaryMetrics m = multiclass_metrics({0, 0, 1, 1, 2, 2}, {0, 1, 1, 1, 0, 2}, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6.0);
  EXPECT_DOUBLE_EQ(m.precision, (0.5 + 2.0 / 3.0 + 1.0) / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, (0.5 + 1.0 + 0.5) / 3.0);
  EXPECT_DOUBLE_EQ(m.f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0);
  EXPECT_TRUE(std::isnan(m.pearson) && std::isnan(m.roc_auc) && std::isnan(m.pr_auc));
  // A class never predicted has precision 0; a class in neither is left out of the average
  // (class 3 here), as scikit-learn's labels = unique(y_true, y_pred) leaves it.
  const BinaryMetrics n = multiclass_metrics({0, 1, 2}, {0, 0, 0}, 4);
  EXPECT_DOUBLE_EQ(n.precision, (1.0 / 3.0) / 3.0);
  EXPECT_DOUBLE_EQ(n.recall, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(n.f1, 0.5 / 3.0);
  EXPECT_THROW(multiclass_metrics({0, 3}, {0, 0}, 3), InputError);
}

// A 4-class target decided by the sign pattern of columns 0 and 1 (a linear cut each), and a
// 3-class one unrelated to the features, next to the binary "sign".
Data make_multiclass(int64_t n, uint32_t seed) {
  Data d = make_data(n, seed);
  d.t.names = {"sign", "quadrant", "noise3"};
  d.t.labels.resize(3, std::vector<int32_t>(static_cast<size_t>(n)));
  for (int64_t i = 0; i < n; ++i) {
    const double a = d.f.x[static_cast<size_t>(i) * 4], b = d.f.x[static_cast<size_t>(i) * 4 + 1];
    d.t.labels[1][i] = (a > 1.0 ? 1 : 0) + (b > 1.0 ? 2 : 0);
    d.t.labels[2][i] = static_cast<int32_t>(i % 3);
  }
  return d;
}

TEST(ProbeFactors, MulticlassTargetsFitTheMultinomialAndBalanceEveryClass) {
  const Data d = make_multiclass(2000, 5);
  CpuBackend cpu(1);
  FactorProbeOptions o;
  o.repeats = 3;
  const FactorProbe p = probe_factors(cpu, d.f, d.t, o);
  EXPECT_EQ(p.classes, (std::vector<int>{2, 4, 3}));
  ASSERT_EQ(p.scores.size(), 3u * 3 * 2);
  std::vector<int64_t> count(4, 0);
  for (const int32_t y : d.t.labels[1]) ++count[static_cast<size_t>(y)];
  // Each class's test share is round(0.3 n_c); each part keeps, of every class, the smallest
  // class's count in that part.
  int64_t test_cap = d.f.rows, train_cap = d.f.rows;
  for (const int64_t c : count) {
    const int64_t t = static_cast<int64_t>(std::llround(0.3 * static_cast<double>(c)));
    test_cap = std::min(test_cap, t);
    train_cap = std::min(train_cap, c - t);
  }
  double quadrant = 0, noise = 0;
  for (size_t k = 0; k < p.scores.size(); ++k) {
    const FactorScore& s = p.scores[k];
    EXPECT_EQ(s.target, d.t.names[k / 6]) << "by target, then repeat, then part";
    EXPECT_TRUE(s.converged) << s.target;
    if (s.target == "quadrant") {
      EXPECT_EQ(s.rows, 4 * (s.part == "test" ? test_cap : train_cap)) << s.part;
      EXPECT_TRUE(std::isnan(s.metrics.roc_auc));
      if (s.part == "test") quadrant += s.metrics.accuracy / 3;
    }
    if (s.target == "noise3" && s.part == "test") noise += s.metrics.f1 / 3;
  }
  EXPECT_GT(quadrant, 0.95);
  EXPECT_NEAR(noise, 1.0 / 3.0, 0.1);  // chance
  // The binary target's scores are what a run of it alone gives, bit for bit.
  Data alone = d;
  alone.t.names = {"sign"};
  alone.t.labels.resize(1);
  const FactorProbe q = probe_factors(cpu, alone.f, alone.t, o);
  for (size_t k = 0; k < q.scores.size(); ++k) {
    EXPECT_EQ(q.scores[k].metrics.accuracy, p.scores[k].metrics.accuracy);
    EXPECT_EQ(q.scores[k].metrics.roc_auc, p.scores[k].metrics.roc_auc);
  }
  // repeats = 0 keeps k rows of weights per target: 1 + 4 + 3.
  o.repeats = 0;
  const FactorProbe r = probe_factors(cpu, d.f, d.t, o);
  EXPECT_EQ(r.weights.size(), static_cast<size_t>(8 * r.kept));
  EXPECT_EQ(r.intercepts.size(), 8u);
}

TEST(ProbeFactors, MulticlassBadInputIsRefusedByName) {
  const FactorProbeOptions o;
  Data d = make_multiclass(300, 6);
  for (int64_t i = 0; i < 300; ++i) d.t.labels[2][i] = i < 3 ? 2 : static_cast<int32_t>(i % 2);
  // Class 2 has 3 rows: 1 to the test part.
  expect_refused(d, o,
                 "target noise3, repeat 0, test part: fewer than 2 rows of class 2 (44 of class 0, "
                 "45 of class 1, 1 of class 2)");
  d = make_multiclass(300, 6);
  d.t.labels[2][7] = -1;
  expect_refused(d, o, "target noise3: label -1");
}

// A target whose fits touch at most half the rows is solved alone on its gathered rows, the
// others in one batch over all rows: the same optimum as one batch of every fit over all rows.
TEST(ProbeFactors, GatheredRowsReachTheSameOptimumAsOneBatch) {
  const int64_t n = 3000;
  const int p = 6, G = 3, R = 4, F = G * R;
  std::mt19937 gen(5);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> unit;
  std::vector<float> x(static_cast<size_t>(n) * p), labels(static_cast<size_t>(n) * F),
      weights(labels.size(), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < p; ++j) x[i * p + j] = static_cast<float>(normal(gen));
    const double z = x[i * p] - 0.5 * x[i * p + 1] + normal(gen);
    for (int g = 0; g < G; ++g)
      for (int r = 0; r < R; ++r) {
        const size_t at = static_cast<size_t>(i) * F + g * R + r;
        labels[at] = static_cast<float>(z > 0);
        // Target 0 uses 80% of the rows in every fit (the shared batch); targets 1 and 2 draw
        // 5% and 2% per fit, about 19% and 8% of the rows over their 4 fits (each alone).
        const double keep = g == 0 ? 0.8 : g == 1 ? 0.05 : 0.02;
        weights[at] = static_cast<float>(unit(gen) < keep);
      }
  }
  CpuBackend cpu(1);
  DeviceArray<float> dx(cpu, x.size()), dy(cpu, labels.size()), dw(cpu, weights.size());
  dx.upload(x);
  dy.upload(labels);
  dw.upload(weights);
  const LogisticFits one = fit_logistic(cpu, dx.data(), n, p, dy.data(), dw.data(), F);
  const LogisticFits parts = fit_target_batches(cpu, x, dx.data(), n, p, labels, weights, G, R, {});
  // On the CPU a row of weight 0 adds exact zeros to every sum (its loss term and gradient are
  // 0 times something), and with 6 features the linear layer's loops sum rows in order: the
  // gathered batches give the bits of the one batch, which any wrong row or label would break.
  ASSERT_EQ(parts.fits, F);
  EXPECT_EQ(parts.coef, one.coef);
  EXPECT_EQ(parts.intercept, one.intercept);
  EXPECT_EQ(parts.objective, one.objective);
  EXPECT_EQ(parts.iterations, one.iterations);
  for (int f = 0; f < F; ++f) EXPECT_TRUE(parts.converged[f]) << f;
}

}  // namespace
}  // namespace xent
