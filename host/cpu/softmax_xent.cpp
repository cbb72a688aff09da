// Softmax cross-entropy, forward and backward over each row: the exponentials are written into
// the row once and scaled into the gradient in place, so probabilities are never stored.
//
// Speed: a DIET step has 1024 x 1000 logits, and one libm exp (in double, twice per logit) per
// logit cost more than all of the encoder's BatchNorm work. Here every pass is a plain loop over
// a row that the compiler vectorises: lanes of partial maxima and sums, and an exp of its own
// (below) instead of libm's, which does not vectorise. Sums of a row still end in double.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cpu/ops.h"
#include "cpu/vector_clones.h"

namespace xent::cpu {
namespace {

constexpr int kLanes = 16;

// exp(x) for x <= 0 (a logit minus its row's maximum), within 2 float ulps, branch-free so that
// loops over it vectorise. Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, and the Taylor
// polynomial of degree 7 for e^r (truncation error < 2e-9 relative). Below -87 the result is
// held at e^-87 ~ 1.6e-38 instead of flushing through subnormals: a term that small changes no
// float sum it joins and is the gradient's value to within 1e-37. NaN propagates.
inline float exp_nonpositive(float x) {
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  x = x < -87.0f ? -87.0f : x;
  const float t = x * 1.44269504f + kRound;
  const float n = t - kRound;
  const float r = (x - n * 0.693145752f) - n * 1.42860677e-6f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // t's low mantissa bits hold n; 2^n built from its exponent field (n >= -126 here).
  const int32_t e = std::bit_cast<int32_t>(t) - std::bit_cast<int32_t>(kRound);
  return p * std::bit_cast<float>((e + 127) << 23);
}

XENT_VECTOR_CLONES float row_max(const float* __restrict x, int64_t c) {
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + kLanes <= c; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = x[j + l] > lane[l] ? x[j + l] : lane[l];
  float m = -std::numeric_limits<float>::infinity();
  for (int l = 0; l < kLanes; ++l) m = lane[l] > m ? lane[l] : m;
  for (; j < c; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

// e[j] = exp(x[j] - mx); returns their sum (float lanes, folded in double).
XENT_VECTOR_CLONES double exp_and_sum(const float* __restrict x, float mx, int64_t c,
                                      float* __restrict e) {
  float lane[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= c; j += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      e[j + l] = exp_nonpositive(x[j + l] - mx);
      lane[l] += e[j + l];
    }
  double sum = 0.0;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  for (; j < c; ++j) {
    e[j] = exp_nonpositive(x[j] - mx);
    sum += e[j];
  }
  return sum;
}

XENT_VECTOR_CLONES void scale_row(float* __restrict row, int64_t c, float scale) {
  for (int64_t j = 0; j < c; ++j) row[j] *= scale;
}

}  // namespace

// Rows are independent: threads take rows, each row's loss goes to its own slot, and the slots
// are summed in row order afterwards, as one thread would.
void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* loss,
                  float* correct, bool grad, ThreadPool& pool) {
  const int64_t n = s.rows;
  const int64_t c = s.classes;
  const double inv_n = 1.0 / static_cast<double>(n);
  std::vector<double> row_loss(static_cast<size_t>(s.K * n));
  std::vector<uint8_t> hit(row_loss.size());
  // Rows per thread below which the op stays on one thread (16 rows of 100 classes: ~2 us).
  const int64_t grain = std::max<int64_t>(1, 2048 / c);
  pool.run(s.K * n, grain, [&](int64_t begin, int64_t end) {
    // Without the gradient the logits must survive: the exponentials go to a scratch row.
    std::vector<float> scratch(grad ? 0 : static_cast<size_t>(c));
    for (int64_t i = begin; i < end; ++i) {
      float* row = logits + i * c;
      const int32_t y = labels[i];
      const float mx = row_max(row, c);
      // The first arg-max, as a sequential scan finds it (0 when every logit is NaN).
      int64_t arg = 0;
      while (arg < c && !(row[arg] == mx)) ++arg;
      if (arg == c) arg = 0;
      const float at_label = row[y];
      float* e = grad ? row : scratch.data();
      const double sum = exp_and_sum(row, mx, c, e);
      const double lse = mx + std::log(sum);
      row_loss[i] = lse - at_label;
      hit[i] = arg == y;
      if (!grad) continue;
      // (softmax - onehot) / n; the label's entry separately, in double, where p - 1 cancels.
      const float scale = static_cast<float>(inv_n / sum);
      const float p_label = e[y];
      scale_row(row, c, scale);
      row[y] = static_cast<float>((static_cast<double>(p_label) / sum - 1.0) * inv_n);
    }
  });
  for (int k = 0; k < s.K; ++k) {
    double total = 0.0;
    int64_t hits = 0;
    for (int64_t r = 0; r < n; ++r) {
      total += row_loss[k * n + r];
      hits += hit[k * n + r];
    }
    loss[k] = static_cast<float>(total / static_cast<double>(n));
    if (correct) correct[k] = static_cast<float>(hits);
  }
}

}  // namespace xent::cpu
