#include "xent/classification.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "xent/error.h"

namespace xent {

BinaryMetrics multiclass_metrics(const std::vector<int32_t>& labels,
                                 const std::vector<int32_t>& predicted, int classes) {
  if (labels.size() != predicted.size())
    throw InputError("multiclass_metrics: " + std::to_string(labels.size()) + " labels but " +
                     std::to_string(predicted.size()) + " predictions");
  if (labels.empty()) throw InputError("multiclass_metrics: no rows to score");
  const auto K = static_cast<size_t>(classes);
  std::vector<double> tp(K, 0.0), in_labels(K, 0.0), in_predicted(K, 0.0);
  double right = 0.0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const int32_t y = labels[i], q = predicted[i];
    if (y < 0 || y >= classes || q < 0 || q >= classes)
      throw InputError("multiclass_metrics: a class outside 0.." + std::to_string(classes - 1));
    in_labels[static_cast<size_t>(y)] += 1;
    in_predicted[static_cast<size_t>(q)] += 1;
    if (y == q) {
      tp[static_cast<size_t>(y)] += 1;
      right += 1;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  BinaryMetrics r;
  r.accuracy = right / static_cast<double>(labels.size());
  r.pearson = r.roc_auc = r.pr_auc = nan;
  double used = 0.0;
  for (size_t c = 0; c < K; ++c) {
    if (in_labels[c] == 0 && in_predicted[c] == 0) continue;
    const double precision = in_predicted[c] > 0 ? tp[c] / in_predicted[c] : 0.0;
    const double recall = in_labels[c] > 0 ? tp[c] / in_labels[c] : 0.0;
    r.precision += precision;
    r.recall += recall;
    r.f1 += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    used += 1;
  }
  r.precision /= used;
  r.recall /= used;
  r.f1 /= used;
  return r;
}

BinaryMetrics binary_metrics(const std::vector<uint8_t>& labels,
                             const std::vector<double>& probability) {
  if (labels.size() != probability.size())
    throw InputError("binary_metrics: " + std::to_string(labels.size()) + " labels but " +
                     std::to_string(probability.size()) + " probabilities");
  const size_t m = labels.size();
  if (m == 0) throw InputError("binary_metrics: no rows to score");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double tp = 0, fp = 0, tn = 0, fn = 0;
  for (size_t i = 0; i < m; ++i) {
    const bool predicted = probability[i] > 0.5, actual = labels[i] != 0;
    tp += predicted && actual;
    fp += predicted && !actual;
    tn += !predicted && !actual;
    fn += !predicted && actual;
  }
  BinaryMetrics r;
  r.accuracy = (tp + tn) / static_cast<double>(m);
  // Pearson r of two 0/1 variables: the phi coefficient of the confusion matrix.
  const double denom = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
  r.pearson = denom > 0 ? (tp * tn - fp * fn) / std::sqrt(denom) : nan;
  r.precision = tp + fp > 0 ? tp / (tp + fp) : 0.0;
  r.recall = tp + fn > 0 ? tp / (tp + fn) : 0.0;
  r.f1 = r.precision + r.recall > 0 ? 2 * r.precision * r.recall / (r.precision + r.recall) : 0.0;

  // The curves: rows by decreasing probability, tied probabilities one threshold.
  std::vector<size_t> order(m);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return probability[a] > probability[b]; });
  const double positives = tp + fn, negatives = fp + tn;
  // ROC: the trapezoids between consecutive thresholds' (fpr, tpr) points, from (0, 0).
  // PR: points (recall, precision) at each threshold, then (0, 1); trapezoids in recall.
  double roc = 0.0, pr = 0.0, ctp = 0.0, cfp = 0.0;
  double prev_fpr = 0.0, prev_tpr = 0.0;
  double prev_recall = 0.0, prev_precision = 1.0;  // the curve's end point, (0, 1)
  for (size_t i = 0; i < m;) {
    size_t j = i;
    for (; j < m && probability[order[j]] == probability[order[i]]; ++j) {
      ctp += labels[order[j]] != 0;
      cfp += labels[order[j]] == 0;
    }
    i = j;
    if (positives > 0 && negatives > 0) {
      const double fpr = cfp / negatives, tpr = ctp / positives;
      roc += (fpr - prev_fpr) * (tpr + prev_tpr) / 2;
      prev_fpr = fpr;
      prev_tpr = tpr;
    }
    if (positives > 0) {
      const double recall = ctp / positives, precision = ctp / (ctp + cfp);
      pr += (recall - prev_recall) * (precision + prev_precision) / 2;
      prev_recall = recall;
      prev_precision = precision;
    }
  }
  r.roc_auc = positives > 0 && negatives > 0 ? roc : nan;
  r.pr_auc = positives > 0 ? pr : nan;
  return r;
}

const std::vector<const char*>& binary_metric_names() {
  static const std::vector<const char*> names = {"accuracy", "pearson", "precision", "recall",
                                                 "f1",       "roc_auc", "pr_auc"};
  return names;
}

double binary_metric(const BinaryMetrics& m, int index) {
  const double v[] = {m.accuracy, m.pearson, m.precision, m.recall, m.f1, m.roc_auc, m.pr_auc};
  return v[index];
}

}  // namespace xent
