#include "xent/logistic.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>

#include "xent/error.h"

namespace xent {
namespace {

// Armijo's sufficient decrease, and how many halvings of the step a line search tries.
constexpr double kArmijo = 1e-4;
constexpr int kMaxHalvings = 30;

// One fit's L-BFGS state; theta = [W (k rows of p), b (k)], k = 1 (binary) or the classes.
struct Fit {
  std::vector<double> theta, grad;
  double value = 0;
  std::deque<std::vector<double>> s, y;  // the last `history` steps and gradient changes
  bool done = false;
  int iterations = 0;
};

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (const double x : v) m = std::max(m, std::fabs(x));
  return m;
}

// The L-BFGS direction -H grad by the two-loop recursion, H0 = s.y / y.y of the newest pair
// (or, with no pairs yet, a first step of unit max-norm).
std::vector<double> direction(const Fit& f) {
  std::vector<double> q = f.grad;
  const size_t m = f.s.size();
  std::vector<double> alpha(m), rho(m);
  for (size_t j = m; j-- > 0;) {
    rho[j] = 1.0 / dot(f.y[j], f.s[j]);
    alpha[j] = rho[j] * dot(f.s[j], q);
    for (size_t i = 0; i < q.size(); ++i) q[i] -= alpha[j] * f.y[j][i];
  }
  const double gamma =
      m ? dot(f.s[m - 1], f.y[m - 1]) / dot(f.y[m - 1], f.y[m - 1]) : 1.0 / max_abs(f.grad);
  for (double& v : q) v *= gamma;
  for (size_t j = 0; j < m; ++j) {
    const double beta = rho[j] * dot(f.y[j], q);
    for (size_t i = 0; i < q.size(); ++i) q[i] += (alpha[j] - beta) * f.s[j][i];
  }
  for (double& v : q) v = -v;
  return q;
}

// The objective and gradient of a set of fits at their theta[f], one pass over the rows for all
// of them: the k coefficient rows of every fit in the set are one linear layer of m k outputs,
// in the set's order. Only fits that need a value are evaluated (one still searching along its
// line, not one that has accepted its step or finished), so an evaluation's two GEMMs shrink as
// the fits converge: the last few fits of a batch no longer carry every other fit's columns.
class Evaluator {
 public:
  Evaluator(Backend& b, const float* x, int64_t n, int p, const float* labels, const float* weights,
            int fits, int k, double C)
      : b_(b),
        x_(x),
        n_(n),
        p_(p),
        labels_(labels),
        weights_(weights),
        F_(fits),
        k_(k),
        C_(C),
        w_(b, static_cast<size_t>(fits) * k * p),
        bias_(b, static_cast<size_t>(fits) * k),
        logits_(b, static_cast<size_t>(n) * fits * k),
        dw_(b, static_cast<size_t>(fits) * k * p),
        db_(b, static_cast<size_t>(fits) * k),
        loss_(b, static_cast<size_t>(fits)),
        set_labels_(b, static_cast<size_t>(n) * fits),
        set_weights_(b, static_cast<size_t>(n) * fits),
        hw_(static_cast<size_t>(fits) * k * p),
        hb_(static_cast<size_t>(fits) * k),
        host_labels_(static_cast<size_t>(n) * fits),
        host_weights_(host_labels_.size()) {
    b.download(host_weights_.data(), weights, host_weights_.size() * sizeof(float));
    b.download(host_labels_.data(), labels, host_labels_.size() * sizeof(float));
    // S_f, the weight of each fit, once.
    sum_w_.assign(static_cast<size_t>(fits), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int f = 0; f < fits; ++f) sum_w_[f] += host_weights_[static_cast<size_t>(i) * fits + f];
    // The multinomial loss indexes the logits by label: check every one is a class.
    if (k > 1)
      for (size_t i = 0; i < host_labels_.size(); ++i) {
        const float y = host_labels_[i];
        if (!(y >= 0.0f && y < static_cast<float>(k) && y == std::floor(y)))
          throw InputError("logistic regression: label " + std::to_string(y) + " of row " +
                           std::to_string(i / static_cast<size_t>(fits)) +
                           " is not a class in 0.." + std::to_string(k - 1));
      }
  }
  double weight(int f) const { return sum_w_[f]; }

  // value[f] and grad[f] for each f in `set` (ascending fit indices); the others are untouched.
  void operator()(const std::vector<int>& set, const std::vector<std::vector<double>>& theta,
                  std::vector<double>& value, std::vector<std::vector<double>>& grad) {
    const int m = static_cast<int>(set.size());
    if (m == 0) return;
    const size_t kp = static_cast<size_t>(k_) * p_;
    for (int j = 0; j < m; ++j) {
      const std::vector<double>& t = theta[set[j]];
      for (size_t i = 0; i < kp; ++i) hw_[j * kp + i] = static_cast<float>(t[i]);
      for (int c = 0; c < k_; ++c)
        hb_[static_cast<size_t>(j) * k_ + c] = static_cast<float>(t[kp + c]);
    }
    b_.upload(w_.data(), hw_.data(), m * kp * sizeof(float));
    b_.upload(bias_.data(), hb_.data(), static_cast<size_t>(m) * k_ * sizeof(float));
    const float *labels = labels_, *weights = weights_;
    if (m < F_) {
      select(set);
      labels = set_labels_.data();
      weights = set_weights_.data();
    }
    const LinearShape ls{1, n_, p_, m * k_};
    b_.linear_forward(ls, x_, w_.data(), bias_.data(), logits_.data());
    if (k_ == 1)
      b_.logistic_loss({n_, m}, logits_.data(), labels, weights, loss_.data());
    else
      b_.multinomial_loss({n_, m, k_}, logits_.data(), labels, weights, loss_.data());
    b_.linear_backward(ls, x_, w_.data(), logits_.data(), nullptr, dw_.data(), db_.data());
    std::vector<double> loss(static_cast<size_t>(m));
    std::vector<float> dw(m * kp), db(static_cast<size_t>(m) * k_);
    b_.download(loss.data(), loss_.data(), loss.size() * sizeof(double));
    b_.download(dw.data(), dw_.data(), dw.size() * sizeof(float));
    b_.download(db.data(), db_.data(), db.size() * sizeof(float));
    for (int j = 0; j < m; ++j) {
      const int f = set[j];
      const double S = sum_w_[f];
      const std::vector<double>& t = theta[f];
      double ww = 0.0;
      for (size_t i = 0; i < kp; ++i) ww += t[i] * t[i];
      value[f] = loss[j] / S + ww / (2.0 * C_ * S);
      grad[f].resize(kp + k_);
      for (size_t i = 0; i < kp; ++i) grad[f][i] = dw[j * kp + i] / S + t[i] / (C_ * S);
      for (int c = 0; c < k_; ++c) grad[f][kp + c] = db[static_cast<size_t>(j) * k_ + c] / S;
    }
  }

 private:
  // The labels and weights of the fits in `set`, [n][m], in backend memory; gathered again only
  // when the set changes (it does once per line-search halving at most, and a gather is
  // n m floats against the GEMMs' n m k p multiply-adds).
  void select(const std::vector<int>& set) {
    if (set == selected_) return;
    const size_t m = set.size();
    std::vector<float> y(static_cast<size_t>(n_) * m), w(y.size());
    for (int64_t i = 0; i < n_; ++i)
      for (size_t j = 0; j < m; ++j) {
        y[i * m + j] = host_labels_[static_cast<size_t>(i) * F_ + set[j]];
        w[i * m + j] = host_weights_[static_cast<size_t>(i) * F_ + set[j]];
      }
    set_labels_.upload(y);
    set_weights_.upload(w);
    selected_ = set;
  }

  Backend& b_;
  const float* x_;
  int64_t n_;
  int p_;
  const float *labels_, *weights_;
  int F_, k_;
  double C_;
  DeviceArray<float> w_, bias_, logits_, dw_, db_;
  DeviceArray<double> loss_;
  DeviceArray<float> set_labels_, set_weights_;
  std::vector<float> hw_, hb_, host_labels_, host_weights_;
  std::vector<double> sum_w_;
  std::vector<int> selected_;
};

}  // namespace

LogisticFits fit_logistic(Backend& b, const float* x, int64_t n, int p, const float* labels,
                          const float* weights, int fits, const LogisticOptions& o) {
  if (n <= 0 || p <= 0 || fits <= 0)
    throw InputError("logistic regression: need rows, features and fits (got " + std::to_string(n) +
                     " x " + std::to_string(p) + ", " + std::to_string(fits) + " fits)");
  if (!(o.C > 0) || !std::isfinite(o.C)) throw InputError("logistic regression: C must be > 0");
  if (!(o.gtol > 0)) throw InputError("logistic regression: gtol must be > 0");
  if (o.max_iter < 1 || o.history < 1)
    throw InputError("logistic regression: max_iter and history must be >= 1");
  if (o.classes < 2) throw InputError("logistic regression: need at least 2 classes");
  const int k = o.classes == 2 ? 1 : o.classes;  // coefficient rows per fit
  Evaluator eval(b, x, n, p, labels, weights, fits, k, o.C);
  for (int f = 0; f < fits; ++f)
    if (!(eval.weight(f) > 0))
      throw InputError("logistic regression: fit " + std::to_string(f) + " has no rows");

  const size_t kp = static_cast<size_t>(k) * p, dim = kp + k;
  std::vector<Fit> state(static_cast<size_t>(fits));
  std::vector<std::vector<double>> theta(static_cast<size_t>(fits), std::vector<double>(dim, 0.0)),
      grad(static_cast<size_t>(fits));
  std::vector<double> value(static_cast<size_t>(fits));
  std::vector<int> all(static_cast<size_t>(fits));
  for (int f = 0; f < fits; ++f) all[f] = f;
  eval(all, theta, value, grad);
  for (int f = 0; f < fits; ++f) {
    state[f].theta = theta[f];
    state[f].grad = grad[f];
    state[f].value = value[f];
  }

  for (int it = 0; it < o.max_iter; ++it) {
    // Fits still searching, their directions and slopes.
    std::vector<int> active;
    std::vector<std::vector<double>> dir(static_cast<size_t>(fits));
    std::vector<double> slope(static_cast<size_t>(fits)), step(static_cast<size_t>(fits), 1.0);
    for (int f = 0; f < fits; ++f) {
      Fit& s = state[f];
      if (s.done) continue;
      if (max_abs(s.grad) <= o.gtol) {
        s.done = true;
        continue;
      }
      dir[f] = direction(s);
      slope[f] = dot(s.grad, dir[f]);
      if (!(slope[f] < 0)) {  // not a descent direction (rounding): restart from the gradient
        s.s.clear();
        s.y.clear();
        dir[f] = direction(s);
        slope[f] = dot(s.grad, dir[f]);
      }
      active.push_back(f);
    }
    if (active.empty()) break;
    // Backtracking line search, every searching fit in the same evaluations; a fit that has
    // accepted its step (or is done) is not evaluated again.
    std::vector<int> searching = active;
    for (int h = 0; h <= kMaxHalvings && !searching.empty(); ++h) {
      for (const int f : searching) {
        theta[f] = state[f].theta;
        for (size_t j = 0; j < dim; ++j) theta[f][j] += step[f] * dir[f][j];
      }
      eval(searching, theta, value, grad);
      std::vector<int> again;
      for (const int f : searching) {
        Fit& s = state[f];
        if (std::isfinite(value[f]) && value[f] <= s.value + kArmijo * step[f] * slope[f]) {
          std::vector<double> ds(dim), dg(dim);
          for (size_t j = 0; j < dim; ++j) {
            ds[j] = theta[f][j] - s.theta[j];
            dg[j] = grad[f][j] - s.grad[j];
          }
          if (dot(ds, dg) > 1e-12 * std::sqrt(dot(ds, ds) * dot(dg, dg))) {
            s.s.push_back(ds);
            s.y.push_back(dg);
            if (int(s.s.size()) > o.history) {
              s.s.pop_front();
              s.y.pop_front();
            }
          }
          s.theta = theta[f];
          s.grad = grad[f];
          s.value = value[f];
          ++s.iterations;
        } else if (h == kMaxHalvings) {
          // No decrease along this direction. A quasi-Newton model built from rounded
          // gradients can point badly: drop it and try the gradient; if even that finds no
          // decrease, the objective is flat to rounding here and the fit ends.
          if (s.s.empty()) s.done = true;
          s.s.clear();
          s.y.clear();
        } else {
          step[f] *= 0.5;
          again.push_back(f);
        }
      }
      searching = again;
    }
  }

  LogisticFits out;
  out.fits = fits;
  out.p = p;
  out.classes = o.classes;
  out.coef_rows = k;
  out.coef.resize(static_cast<size_t>(fits) * kp);
  out.intercept.resize(static_cast<size_t>(fits) * k);
  for (int f = 0; f < fits; ++f) {
    const Fit& s = state[f];
    std::copy_n(s.theta.begin(), kp, out.coef.begin() + static_cast<ptrdiff_t>(f * kp));
    std::copy_n(s.theta.begin() + static_cast<ptrdiff_t>(kp), k,
                out.intercept.begin() + static_cast<ptrdiff_t>(f) * k);
    out.objective.push_back(s.value);
    out.grad_max.push_back(max_abs(s.grad));
    out.iterations.push_back(s.iterations);
    out.converged.push_back(max_abs(s.grad) <= o.gtol ? 1 : 0);
  }
  return out;
}

}  // namespace xent
