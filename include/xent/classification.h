// Scores of a binary classifier, as the ImageNet-X protocol reports them (the reference code's
// decode.py, with scikit-learn's definitions): accuracy, Pearson r of label and prediction,
// precision, recall, F1, ROC-AUC, and PR-AUC as the trapezoidal area under the
// precision-recall curve (sklearn.metrics.auc of precision_recall_curve, not average
// precision).
#pragma once
#include <cstdint>
#include <vector>

namespace xent {

struct BinaryMetrics {
  double accuracy = 0;
  double pearson = 0;    // NaN when the labels or the predictions are constant
  double precision = 0;  // 0 when nothing is predicted positive (scikit-learn's zero_division)
  double recall = 0;
  double f1 = 0;       // 0 when precision and recall are both 0
  double roc_auc = 0;  // NaN unless both classes occur
  double pr_auc = 0;   // NaN unless a positive occurs
};

// labels (0 or 1) and probabilities of the positive class for the same rows; the prediction is
// positive where the probability exceeds 0.5 (a tie goes to class 0, as predict() breaks it).
BinaryMetrics binary_metrics(const std::vector<uint8_t>& labels,
                             const std::vector<double>& probability);

// Scores of a classifier of K >= 2 classes from its predicted classes (the arg-max of its
// logits), as scikit-learn's accuracy_score and precision/recall/f1_score(average="macro")
// define them: each class's precision (0 when never predicted), recall and F1 (0 when both are
// 0), averaged uniformly over the classes that occur in the labels or the predictions. In
// BinaryMetrics's fields; pearson, roc_auc and pr_auc, binary-only, are NaN.
BinaryMetrics multiclass_metrics(const std::vector<int32_t>& labels,
                                 const std::vector<int32_t>& predicted, int classes);

// The names of the metrics in BinaryMetrics order, for files and tables.
const std::vector<const char*>& binary_metric_names();
double binary_metric(const BinaryMetrics& m, int index);

}  // namespace xent
