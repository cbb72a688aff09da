#include "experiments/imagenet_x/probe_factors.h"

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

// Each part keeps the first rows of each class up to the smallest class's count (or all rows
// when not balancing); every class needs 2 rows.
std::vector<int64_t> balanced(const std::vector<int64_t>& rows, const std::vector<int32_t>& y,
                              int classes, bool balance, const std::string& what) {
  std::vector<std::vector<int64_t>> cls(static_cast<size_t>(classes));
  for (const int64_t r : rows) cls[static_cast<size_t>(y[r])].push_back(r);
  size_t m = cls[0].size(), few = 0;
  for (size_t c = 0; c < cls.size(); ++c) {
    if (cls[c].size() < 2 && cls[few].size() >= 2) few = c;
    m = std::min(m, cls[c].size());
  }
  if (m < 2) {
    std::string counts;
    for (size_t c = 0; c < cls.size(); ++c)
      counts += (c ? ", " : "") + std::to_string(cls[c].size()) + " of class " + std::to_string(c);
    throw InputError(what + ": fewer than 2 rows of class " + std::to_string(few) + " (" + counts +
                     ")");
  }
  if (!balance) return rows;
  std::vector<int64_t> out;
  for (const auto& c : cls) out.insert(out.end(), c.begin(), c.begin() + static_cast<ptrdiff_t>(m));
  return out;
}

Split split(const std::vector<int32_t>& y, int classes, const FactorProbeOptions& o,
            uint64_t target, int repeat, const std::string& name) {
  Philox rng(o.seed + static_cast<uint64_t>(repeat), target, 0);
  std::vector<std::vector<int64_t>> cls(static_cast<size_t>(classes));
  for (size_t r = 0; r < y.size(); ++r) cls[static_cast<size_t>(y[r])].push_back(int64_t(r));
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
  s.train = balanced(train, y, classes, o.balance, what + ", training part");
  s.test = balanced(test, y, classes, o.balance, what + ", test part");
  return s;
}

// The columns `fits` of a [n][F] array, over `rows` (every row when empty): [rows][fits].
std::vector<float> gather(const std::vector<float>& a, int F, const std::vector<int64_t>& rows,
                          int64_t n, const std::vector<int>& fits) {
  const size_t m = fits.size(), count = rows.empty() ? static_cast<size_t>(n) : rows.size();
  std::vector<float> out(count * m);
  for (size_t i = 0; i < count; ++i) {
    const size_t r = rows.empty() ? i : static_cast<size_t>(rows[i]);
    for (size_t j = 0; j < m; ++j) out[i * m + j] = a[r * F + fits[j]];
  }
  return out;
}

// Fits `ids` of a batch, solved as `part`, placed into `all` (sized for the whole batch).
void place(LogisticFits& all, const LogisticFits& part, const std::vector<int>& ids) {
  const size_t kp = static_cast<size_t>(part.coef_rows) * part.p, k = part.coef_rows;
  for (size_t j = 0; j < ids.size(); ++j) {
    const size_t f = static_cast<size_t>(ids[j]);
    std::copy_n(part.coef.begin() + static_cast<ptrdiff_t>(j * kp), kp,
                all.coef.begin() + static_cast<ptrdiff_t>(f * kp));
    std::copy_n(part.intercept.begin() + static_cast<ptrdiff_t>(j * k), k,
                all.intercept.begin() + static_cast<ptrdiff_t>(f * k));
    all.objective[f] = part.objective[j];
    all.grad_max[f] = part.grad_max[j];
    all.iterations[f] = part.iterations[j];
    all.converged[f] = part.converged[j];
  }
}

}  // namespace

LogisticFits fit_target_batches(Backend& b, const std::vector<float>& x, const float* dx, int64_t n,
                                int p, const std::vector<float>& labels,
                                const std::vector<float>& wts, int G, int R,
                                const LogisticOptions& lo) {
  const int F = G * R;
  std::vector<int> shared;
  std::vector<std::vector<int64_t>> alone_rows;
  std::vector<std::vector<int>> alone_fits;
  for (int g = 0; g < G; ++g) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < n; ++i)
      for (int r = 0; r < R; ++r)
        if (wts[static_cast<size_t>(i) * F + g * R + r] != 0.0f) {
          rows.push_back(i);
          break;
        }
    std::vector<int> ids;
    for (int r = 0; r < R; ++r) ids.push_back(g * R + r);
    if (2 * static_cast<int64_t>(rows.size()) <= n) {
      alone_rows.push_back(std::move(rows));
      alone_fits.push_back(std::move(ids));
    } else {
      shared.insert(shared.end(), ids.begin(), ids.end());
    }
  }
  if (static_cast<int>(shared.size()) == F) {  // one batch over the arrays as they are
    DeviceArray<float> dy(b, labels.size()), dw(b, wts.size());
    dy.upload(labels);
    dw.upload(wts);
    return fit_logistic(b, dx, n, p, dy.data(), dw.data(), F, lo);
  }
  LogisticFits all;
  all.fits = F;
  all.p = p;
  all.classes = lo.classes;
  all.coef_rows = lo.classes == 2 ? 1 : lo.classes;
  all.coef.resize(static_cast<size_t>(F) * all.coef_rows * p);
  all.intercept.resize(static_cast<size_t>(F) * all.coef_rows);
  all.objective.resize(static_cast<size_t>(F));
  all.grad_max.resize(static_cast<size_t>(F));
  all.iterations.resize(static_cast<size_t>(F));
  all.converged.resize(static_cast<size_t>(F));
  const auto solve = [&](const float* xs, const std::vector<int64_t>& rows,
                         const std::vector<int>& ids) {
    const int64_t m = rows.empty() ? n : static_cast<int64_t>(rows.size());
    const std::vector<float> y = gather(labels, F, rows, n, ids), w = gather(wts, F, rows, n, ids);
    DeviceArray<float> dy(b, y.size()), dw(b, w.size());
    dy.upload(y);
    dw.upload(w);
    place(all, fit_logistic(b, xs, m, p, dy.data(), dw.data(), static_cast<int>(ids.size()), lo),
          ids);
  };
  if (!shared.empty()) solve(dx, {}, shared);
  for (size_t a = 0; a < alone_rows.size(); ++a) {
    const std::vector<int64_t>& rows = alone_rows[a];
    std::vector<float> xa(rows.size() * static_cast<size_t>(p));
    for (size_t i = 0; i < rows.size(); ++i)
      std::copy_n(x.begin() + static_cast<ptrdiff_t>(rows[i] * p), p,
                  xa.begin() + static_cast<ptrdiff_t>(i * p));
    DeviceArray<float> dxa(b, xa.size());
    dxa.upload(xa);
    solve(dxa.data(), rows, alone_fits[a]);
  }
  return all;
}

FactorProbe probe_factors(Backend& b, const FeatureSet& features, const FactorTargets& targets,
                          const FactorProbeOptions& o) {
  if (o.repeats < 0) throw InputError("--repeats: must be >= 0");
  if (!(o.test_fraction > 0 && o.test_fraction < 1))
    throw InputError("--test-fraction: must be in (0, 1)");
  if (!(o.C > 0) || !std::isfinite(o.C)) throw InputError("--C: must be positive and finite");
  if (targets.labels.empty()) throw InputError("targets: none given");
  const int64_t n = features.rows;
  const int T = static_cast<int>(targets.labels.size());
  FactorProbe out;
  out.classes.resize(static_cast<size_t>(T));
  for (int t = 0; t < T; ++t) {
    if (static_cast<int64_t>(targets.labels[t].size()) != n)
      throw InputError("target " + targets.names[t] + ": " +
                       std::to_string(targets.labels[t].size()) + " rows, but features " +
                       features.name + " have " + std::to_string(n));
    const auto& y = targets.labels[t];
    if (std::all_of(y.begin(), y.end(), [&](int32_t v) { return v == y[0]; }))
      throw InputError("target " + targets.names[t] + ": constant (every row is " +
                       std::to_string(y[0]) + ")");
    const int32_t low = *std::min_element(y.begin(), y.end());
    if (low < 0)
      throw InputError("target " + targets.names[t] + ": label " + std::to_string(low) +
                       " (class labels are 0 .. K-1)");
    out.classes[t] = *std::max_element(y.begin(), y.end()) + 1;
  }
  out.features = features.name;
  const std::vector<float> x = standardise(features, o.positive_mean_filter, &out.kept);
  out.dropped = features.cols - out.kept;
  const int p = out.kept;
  const int R = std::max(o.repeats, 1);
  DeviceArray<float> dx(b, x.size());
  dx.upload(x);

  // The targets of each number of classes, one batch of fits each, in order of first use.
  std::vector<int> kinds;
  for (const int K : out.classes)
    if (std::find(kinds.begin(), kinds.end(), K) == kinds.end()) kinds.push_back(K);
  std::vector<std::vector<FactorScore>> by_target(static_cast<size_t>(T));
  std::vector<std::vector<double>> weights(static_cast<size_t>(T)), intercepts(weights.size());
  for (const int K : kinds) {
    std::vector<int> group;  // its targets
    for (int t = 0; t < T; ++t)
      if (out.classes[t] == K) group.push_back(t);
    const int F = static_cast<int>(group.size()) * R;
    // Fit f = g * R + r (target group[g]): labels and 0/1 weights over the shared rows, [n][F].
    std::vector<float> labels(static_cast<size_t>(n) * F), wts(labels.size(), 0.0f);
    std::vector<Split> splits(static_cast<size_t>(F));
    for (size_t g = 0; g < group.size(); ++g)
      for (int r = 0; r < R; ++r) {
        const int t = group[g], f = static_cast<int>(g) * R + r;
        Split& s = splits[f];
        if (o.repeats == 0) {
          for (int64_t i = 0; i < n; ++i) s.train.push_back(i);
          (void)balanced(s.train, targets.labels[t], K, false, "target " + targets.names[t]);
        } else {
          s = split(targets.labels[t], K, o, static_cast<uint64_t>(t), r, targets.names[t]);
        }
        for (int64_t i = 0; i < n; ++i)
          labels[static_cast<size_t>(i) * F + f] = static_cast<float>(targets.labels[t][i]);
        for (const int64_t i : s.train) wts[static_cast<size_t>(i) * F + f] = 1.0f;
      }
    LogisticOptions lo;
    lo.C = o.C;
    lo.classes = K;
    const LogisticFits fits = fit_target_batches(b, x, dx.data(), n, p, labels, wts,
                                                 static_cast<int>(group.size()), R, lo);
    const int k = fits.coef_rows;

    // Every fit's logits on every row: one GEMM.
    std::vector<float> wf(fits.coef.begin(), fits.coef.end()),
        bf(fits.intercept.begin(), fits.intercept.end());
    DeviceArray<float> dW(b, wf.size()), dB(b, bf.size()), dz(b, static_cast<size_t>(n) * F * k);
    dW.upload(wf);
    dB.upload(bf);
    b.linear_forward({1, n, p, F * k}, dx.data(), dW.data(), dB.data(), dz.data());
    const std::vector<float> z = dz.download();
    const auto score = [&](int f, const std::vector<int64_t>& rows, int t, int repeat,
                           const char* part) {
      FactorScore s;
      s.target = targets.names[t];
      s.repeat = repeat;
      s.part = part;
      s.rows = static_cast<int64_t>(rows.size());
      if (k == 1) {
        std::vector<uint8_t> yy;
        std::vector<double> prob;
        for (const int64_t i : rows) {
          yy.push_back(labels[static_cast<size_t>(i) * F + f] != 0.0f);
          prob.push_back(1.0 /
                         (1.0 + std::exp(-static_cast<double>(z[static_cast<size_t>(i) * F + f]))));
        }
        s.metrics = binary_metrics(yy, prob);
      } else {
        // The predicted class: the first largest logit (numpy's argmax, predict()'s).
        std::vector<int32_t> yy, pred;
        for (const int64_t i : rows) {
          yy.push_back(targets.labels[t][i]);
          const float* zi = z.data() + (static_cast<size_t>(i) * F + f) * k;
          pred.push_back(static_cast<int32_t>(std::max_element(zi, zi + k) - zi));
        }
        s.metrics = multiclass_metrics(yy, pred, K);
      }
      s.converged = fits.converged[f] != 0;
      s.iterations = fits.iterations[f];
      by_target[t].push_back(s);
    };
    for (size_t g = 0; g < group.size(); ++g)
      for (int r = 0; r < R; ++r) {
        const int t = group[g], f = static_cast<int>(g) * R + r;
        if (o.repeats == 0) {
          score(f, splits[f].train, t, 0, "all");
          const auto kp = static_cast<ptrdiff_t>(k) * p;
          weights[t].assign(fits.coef.begin() + f * kp, fits.coef.begin() + (f + 1) * kp);
          intercepts[t].assign(fits.intercept.begin() + static_cast<ptrdiff_t>(f) * k,
                               fits.intercept.begin() + static_cast<ptrdiff_t>(f + 1) * k);
        } else {
          score(f, splits[f].train, t, r, "train");
          score(f, splits[f].test, t, r, "test");
        }
      }
  }
  for (int t = 0; t < T; ++t) {
    out.scores.insert(out.scores.end(), by_target[t].begin(), by_target[t].end());
    out.weights.insert(out.weights.end(), weights[t].begin(), weights[t].end());
    out.intercepts.insert(out.intercepts.end(), intercepts[t].begin(), intercepts[t].end());
  }
  return out;
}

}  // namespace xent
