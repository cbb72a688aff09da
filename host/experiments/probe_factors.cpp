#include "experiments/probe_factors.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "xent/error.h"
#include "xent/logistic.h"
#include "xent/philox.h"

namespace xent {
namespace {

// The filtered, z-scored features as float for the backend, and how many columns were kept.
std::vector<float> standardise(const FeatureSet& f, bool positive_mean, int* kept) {
  const int64_t n = f.rows;
  const int p = f.cols;
  for (size_t i = 0; i < f.x.size(); ++i)
    if (!std::isfinite(f.x[i]))
      throw InputError("features " + f.name + ": non-finite value at row " +
                       std::to_string(i / static_cast<size_t>(p)) + ", column " +
                       std::to_string(i % static_cast<size_t>(p)) + " (0-based)");
  std::vector<double> mean(static_cast<size_t>(p), 0.0), sd(static_cast<size_t>(p), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) mean[j] += f.x[static_cast<size_t>(i) * p + j];
  for (double& m : mean) m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < p; ++j) {
      const double d = f.x[static_cast<size_t>(i) * p + j] - mean[j];
      sd[j] += d * d;
    }
  std::vector<int> cols;
  for (int j = 0; j < p; ++j) {
    sd[j] = std::sqrt(sd[j] / static_cast<double>(n));
    if ((!positive_mean || mean[j] > 0) && sd[j] > 0) cols.push_back(j);
  }
  if (cols.empty())
    throw InputError(
        "features " + f.name + ": every column was removed (" +
        (positive_mean ? "none has a positive mean and a spread" : "every column is constant") +
        ")");
  *kept = static_cast<int>(cols.size());
  std::vector<float> out(static_cast<size_t>(n) * cols.size());
  for (int64_t i = 0; i < n; ++i)
    for (size_t c = 0; c < cols.size(); ++c) {
      const int j = cols[c];
      out[static_cast<size_t>(i) * cols.size() + c] =
          static_cast<float>((f.x[static_cast<size_t>(i) * p + j] - mean[j]) / sd[j]);
    }
  return out;
}

// Rows of one target's parts: train and test, each balanced (or not).
struct Split {
  std::vector<int64_t> train, test;
};

// Fisher-Yates with Philox's 32-bit draws (rows < 2^32).
void shuffle(std::vector<int64_t>& v, Philox& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.next_u32() % i);
    std::swap(v[i - 1], v[j]);
  }
}

std::vector<int64_t> balanced(const std::vector<int64_t>& rows, const std::vector<uint8_t>& y,
                              bool balance, const std::string& what) {
  std::vector<int64_t> cls[2];
  for (const int64_t r : rows) cls[y[r] != 0].push_back(r);
  const size_t m = std::min(cls[0].size(), cls[1].size());
  if (m < 2)
    throw InputError(what + ": fewer than 2 rows of class " + (cls[0].size() < 2 ? "0" : "1") +
                     " (" + std::to_string(cls[0].size()) + " of class 0, " +
                     std::to_string(cls[1].size()) + " of class 1)");
  if (!balance) return rows;
  std::vector<int64_t> out(cls[0].begin(), cls[0].begin() + static_cast<ptrdiff_t>(m));
  out.insert(out.end(), cls[1].begin(), cls[1].begin() + static_cast<ptrdiff_t>(m));
  return out;
}

Split split(const std::vector<uint8_t>& y, const FactorProbeOptions& o, uint64_t target, int repeat,
            const std::string& name) {
  Philox rng(o.seed + static_cast<uint64_t>(repeat), target, 0);
  std::vector<int64_t> cls[2];
  for (size_t r = 0; r < y.size(); ++r) cls[y[r] != 0].push_back(static_cast<int64_t>(r));
  Split s;
  std::vector<int64_t> train, test;
  for (auto& c : cls) {
    shuffle(c, rng);
    const auto t =
        static_cast<size_t>(std::llround(o.test_fraction * static_cast<double>(c.size())));
    test.insert(test.end(), c.begin(), c.begin() + static_cast<ptrdiff_t>(t));
    train.insert(train.end(), c.begin() + static_cast<ptrdiff_t>(t), c.end());
  }
  const std::string what = "target " + name + ", repeat " + std::to_string(repeat);
  s.train = balanced(train, y, o.balance, what + ", training part");
  s.test = balanced(test, y, o.balance, what + ", test part");
  return s;
}

}  // namespace

FactorProbe probe_factors(Backend& b, const FeatureSet& features, const BinaryTargets& targets,
                          const FactorProbeOptions& o) {
  if (o.repeats < 0) throw InputError("--repeats: must be >= 0");
  if (!(o.test_fraction > 0 && o.test_fraction < 1))
    throw InputError("--test-fraction: must be in (0, 1)");
  if (!(o.C > 0) || !std::isfinite(o.C)) throw InputError("--C: must be positive and finite");
  if (targets.labels.empty()) throw InputError("targets: none given");
  const int64_t n = features.rows;
  for (size_t t = 0; t < targets.labels.size(); ++t) {
    if (static_cast<int64_t>(targets.labels[t].size()) != n)
      throw InputError("target " + targets.names[t] + ": " +
                       std::to_string(targets.labels[t].size()) + " rows, but features " +
                       features.name + " have " + std::to_string(n));
    const auto& y = targets.labels[t];
    if (std::all_of(y.begin(), y.end(), [&](uint8_t v) { return v == y[0]; }))
      throw InputError("target " + targets.names[t] + ": constant (every row is " +
                       std::to_string(y[0]) + ")");
  }
  FactorProbe out;
  out.features = features.name;
  const std::vector<float> x = standardise(features, o.positive_mean_filter, &out.kept);
  out.dropped = features.cols - out.kept;
  const int p = out.kept;
  const int T = static_cast<int>(targets.labels.size());
  const int R = std::max(o.repeats, 1);
  const int F = T * R;

  // Fit f = t * R + r: labels and 0/1 weights over the shared rows, [n][F].
  std::vector<float> labels(static_cast<size_t>(n) * F), weights(labels.size(), 0.0f);
  std::vector<Split> splits(static_cast<size_t>(F));
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) {
      const int f = t * R + r;
      Split& s = splits[f];
      if (o.repeats == 0) {
        for (int64_t i = 0; i < n; ++i) s.train.push_back(i);
        (void)balanced(s.train, targets.labels[t], false, "target " + targets.names[t]);
      } else {
        s = split(targets.labels[t], o, static_cast<uint64_t>(t), r, targets.names[t]);
      }
      for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i) * F + f] = targets.labels[t][i];
      for (const int64_t i : s.train) weights[static_cast<size_t>(i) * F + f] = 1.0f;
    }
  DeviceArray<float> dx(b, x.size()), dy(b, labels.size()), dw(b, weights.size());
  dx.upload(x);
  dy.upload(labels);
  dw.upload(weights);
  LogisticOptions lo;
  lo.C = o.C;
  const LogisticFits fits = fit_logistic(b, dx.data(), n, p, dy.data(), dw.data(), F, lo);

  // Every fit's probabilities on every row: one GEMM.
  std::vector<float> wf(fits.coef.begin(), fits.coef.end()),
      bf(fits.intercept.begin(), fits.intercept.end());
  DeviceArray<float> dW(b, wf.size()), dB(b, bf.size()), dz(b, static_cast<size_t>(n) * F);
  dW.upload(wf);
  dB.upload(bf);
  b.linear_forward({1, n, p, F}, dx.data(), dW.data(), dB.data(), dz.data());
  const std::vector<float> z = dz.download();
  const auto score = [&](int f, const std::vector<int64_t>& rows, const std::string& target,
                         int repeat, const char* part) {
    std::vector<uint8_t> yy;
    std::vector<double> prob;
    for (const int64_t i : rows) {
      yy.push_back(labels[static_cast<size_t>(i) * F + f] != 0.0f);
      prob.push_back(1.0 /
                     (1.0 + std::exp(-static_cast<double>(z[static_cast<size_t>(i) * F + f]))));
    }
    FactorScore s;
    s.target = target;
    s.repeat = repeat;
    s.part = part;
    s.rows = static_cast<int64_t>(rows.size());
    s.metrics = binary_metrics(yy, prob);
    s.converged = fits.converged[f] != 0;
    s.iterations = fits.iterations[f];
    out.scores.push_back(s);
  };
  for (int t = 0; t < T; ++t)
    for (int r = 0; r < R; ++r) {
      const int f = t * R + r;
      if (o.repeats == 0) {
        score(f, splits[f].train, targets.names[t], 0, "all");
      } else {
        score(f, splits[f].train, targets.names[t], r, "train");
        score(f, splits[f].test, targets.names[t], r, "test");
      }
    }
  if (o.repeats == 0) {
    out.weights = fits.coef;
    out.intercepts = fits.intercept;
  }
  return out;
}

}  // namespace xent
