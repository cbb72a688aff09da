// The frozen mixing MLP g (docs/paper.md): its weights, drawn on the host once per
// replica, and the diagnostics, condition numbers and the inverse. Its forward pass is an op of
// each backend (host/cpu/mixing.cpp, kernels/mixing.cu).
//
// The draw is the reference's construct_invertible_mlp with cond_thresh_ratio = 0: the
// threshold is the smallest condition number among the first mixing_cond_draws candidates, and
// every layer is the next candidate at or below it.
//
// Candidate a (a = 0, 1, 2, ...) comes from Philox(seed, rng_stream(Mixing, a), 0): d*d uniforms
// in row-major order, entry = 2u - 1 (in double, so exact), each column divided by its L2 norm
// (in double), then rounded to float. Its condition number is that of the float matrix, so that
// anyone recomputing it from the stored weights gets the same number bit for bit.
//
// Because the threshold is a minimum over N draws, a later draw beats it with probability
// 1/(N+1): each layer costs about N more candidates, with a heavy tail (the chance that layer
// one needs more than k is N/(N+k); four layers need more than 5.3 N with probability 1/2 and
// more than 39 N with probability 1/10). So most of the time goes into rejecting candidates,
// which a cheap rigorous lower bound on the condition number does (CondBound) before the exact
// SVD; the SVD runs a few dozen times per draw_mixing. Measured with d = 20, N = 25000: 1 to 2 s
// for a typical seed, ~10 us per candidate.
#include <lapacke.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "dgp/internal.h"
#include "io/cores.h"
#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/philox.h"

namespace xent {
namespace {

// Singular values only (jobu = jobvt = 'N': bidiagonalisation + dqds) with a workspace kept
// between calls; LAPACKE_dgesvd would allocate it on every call.
class CondWorkspace {
 public:
  double cond(const double* a, int d) {
    const size_t dd = static_cast<size_t>(d) * static_cast<size_t>(d);
    if (d != d_) {
      d_ = d;
      copy_.resize(dd);
      s_.resize(static_cast<size_t>(d));
      double query = 0.0;
      double dummy = 0.0;
      LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', d, d, copy_.data(), d, s_.data(), &dummy, 1,
                          &dummy, 1, &query, -1);
      work_.resize(static_cast<size_t>(std::max(query, 1.0)));
    }
    // Read as column-major the row-major matrix is its transpose: same singular values.
    std::copy(a, a + dd, copy_.begin());
    const lapack_int info =
        LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'N', 'N', d, d, copy_.data(), d, s_.data(), nullptr,
                            1, nullptr, 1, work_.data(), static_cast<lapack_int>(work_.size()));
    if (info != 0) {
      // dqds did not converge (not seen for finite input): treat the matrix as unusable.
      return std::numeric_limits<double>::infinity();
    }
    const double smax = s_.front();
    const double smin = s_.back();
    if (!(smin > 0.0)) return std::numeric_limits<double>::infinity();
    return smax / smin;
  }

 private:
  int d_ = 0;
  std::vector<double> copy_, s_, work_;
};

// Fills w (float, the stored weights) and wd (the same values in double) for candidate a.
void draw_candidate(uint64_t seed, uint64_t a, int d, float* w, double* wd) {
  Philox rng(seed, rng_stream(RngPurpose::Mixing, a), 0);
  const size_t n = static_cast<size_t>(d);
  for (size_t i = 0; i < n * n; ++i) wd[i] = 2.0 * static_cast<double>(rng.uniform()) - 1.0;
  for (size_t c = 0; c < n; ++c) {
    double ss = 0.0;
    for (size_t r = 0; r < n; ++r) ss += wd[r * n + c] * wd[r * n + c];
    // An all-zero column needs all d uniforms of a column to be exactly 1/2 (each has
    // probability ~2^-24.6): it gives NaN entries, which condition_number rejects as infinite.
    const double norm = std::sqrt(ss);
    for (size_t r = 0; r < n; ++r) {
      w[r * n + c] = static_cast<float>(wd[r * n + c] / norm);
      wd[r * n + c] = static_cast<double>(w[r * n + c]);
    }
  }
}

// A cheap lower bound on cond_2(A) = sigma_max / sigma_min, so that most candidates are
// rejected without an SVD: ||A u|| / ||u|| <= sigma_max and ||A^-1 v|| / ||v|| <= 1 / sigma_min
// hold for every u and v. A few power / inverse-power iterations (one LU) sharpen both; the
// loop stops once the bound clears `bar`. Rounding in the bound is ~d * eps * cond relative,
// far inside the margin the caller adds, so pruning never rejects a candidate the exact test
// would accept: the weights are the same as with an SVD of every candidate.
class CondBound {
 public:
  double operator()(const double* a, int d, double bar) {
    const size_t n = static_cast<size_t>(d);
    if (n != n_) {
      n_ = n;
      buf_.resize(n * n + 3 * n);
      perm_.resize(n);
    }
    double* lu = buf_.data();
    double* u = lu + n * n;
    double* v = u + n;
    double* y = v + n;
    std::copy(a, a + n * n, lu);
    for (size_t i = 0; i < n; ++i) {
      perm_[i] = i;
      u[i] = 1.0;
      // Not parallel to u, so the two iterations start differently.
      v[i] = (i % 2 == 0 ? 1.0 : -1.0) * (1.0 + static_cast<double>(i) / static_cast<double>(n));
    }
    if (!factor(lu, n)) return std::numeric_limits<double>::infinity();
    double smax = 0.0;
    double inv_smin = 0.0;
    constexpr int kIterations = 8;
    for (int it = 0; it < kIterations; ++it) {
      // Power step on A^T A (u is a unit vector after the first step).
      const double nu = norm(u, n);
      matvec(a, u, y, n);
      smax = std::max(smax, norm(y, n) / nu);
      matvec_transposed(a, y, u, n);
      scale(u, n, 1.0 / norm(u, n));
      // Inverse power step on (A^T A)^-1.
      const double nv = norm(v, n);
      solve(lu, v, y, n);
      const double ny = norm(y, n);
      inv_smin = std::max(inv_smin, ny / nv);
      solve_transposed(lu, y, v, n);
      scale(v, n, 1.0 / norm(v, n));
      if (smax * inv_smin > bar) break;
    }
    return smax * inv_smin;
  }

 private:
  static double norm(const double* x, size_t n) {
    double ss = 0.0;
    for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
    return std::sqrt(ss);
  }
  static void scale(double* x, size_t n, double f) {
    for (size_t i = 0; i < n; ++i) x[i] *= f;
  }
  static void matvec(const double* a, const double* x, double* y, size_t n) {
    for (size_t r = 0; r < n; ++r) {
      const double* row = a + r * n;
      double acc = 0.0;
      for (size_t c = 0; c < n; ++c) acc += row[c] * x[c];
      y[r] = acc;
    }
  }
  static void matvec_transposed(const double* a, const double* x, double* y, size_t n) {
    std::fill(y, y + n, 0.0);
    for (size_t r = 0; r < n; ++r) {
      const double* row = a + r * n;
      const double xr = x[r];
      for (size_t c = 0; c < n; ++c) y[c] += row[c] * xr;
    }
  }

  // Row-major LU with partial pivoting: row perm_[i] of A = row i of L U, L unit lower.
  bool factor(double* lu, size_t n) {
    for (size_t k = 0; k < n; ++k) {
      size_t p = k;
      for (size_t i = k + 1; i < n; ++i) {
        if (std::abs(lu[i * n + k]) > std::abs(lu[p * n + k])) p = i;
      }
      if (!(lu[p * n + k] != 0.0)) return false;
      if (p != k) {
        std::swap_ranges(lu + k * n, lu + (k + 1) * n, lu + p * n);
        std::swap(perm_[k], perm_[p]);
      }
      const double* pivot_row = lu + k * n;
      const double inv = 1.0 / pivot_row[k];
      for (size_t i = k + 1; i < n; ++i) {
        double* row = lu + i * n;
        const double l = row[k] * inv;
        row[k] = l;
        for (size_t j = k + 1; j < n; ++j) row[j] -= l * pivot_row[j];
      }
    }
    return true;
  }

  // y = A^-1 x.
  void solve(const double* lu, const double* x, double* y, size_t n) const {
    for (size_t i = 0; i < n; ++i) {
      const double* row = lu + i * n;
      double acc = x[perm_[i]];
      for (size_t j = 0; j < i; ++j) acc -= row[j] * y[j];
      y[i] = acc;
    }
    for (size_t i = n; i-- > 0;) {
      const double* row = lu + i * n;
      double acc = y[i];
      for (size_t j = i + 1; j < n; ++j) acc -= row[j] * y[j];
      y[i] = acc / row[i];
    }
  }

  // y = A^-T x, with A^T = U^T L^T P; x is overwritten.
  void solve_transposed(const double* lu, double* x, double* y, size_t n) const {
    // Column-oriented so that the inner loops walk rows of the row-major factors.
    for (size_t i = 0; i < n; ++i) {
      const double* row = lu + i * n;
      x[i] /= row[i];
      const double xi = x[i];
      for (size_t j = i + 1; j < n; ++j) x[j] -= row[j] * xi;
    }
    for (size_t i = n; i-- > 0;) {
      const double* row = lu + i * n;
      const double xi = x[i];
      for (size_t j = 0; j < i; ++j) x[j] -= row[j] * xi;
    }
    for (size_t i = 0; i < n; ++i) y[perm_[i]] = x[i];
  }

  size_t n_ = 0;
  std::vector<double> buf_;
  std::vector<size_t> perm_;
};

// Relative slack between the bound and the exact test; see CondBound.
constexpr double kBoundMargin = 1e-9;

double leaky_inverse(double v) { return v > 0.0 ? v : v / dgp::kMixingSlope; }

// One thread's candidates of a seed: the draw, and whether its condition number is <= bar,
// decided exactly, with an SVD only where the cheap bound cannot rule it out.
class Candidates {
 public:
  Candidates(uint64_t seed, int d)
      : seed_(seed), d_(d), w_(static_cast<size_t>(d) * d), wd_(w_.size()) {}
  void draw(uint64_t a) { draw_candidate(seed_, a, d_, w_.data(), wd_.data()); }
  // The candidate's condition number when it is <= bar, otherwise infinity.
  double at_most(double bar) {
    if (bound_(wd_.data(), d_, bar * (1.0 + kBoundMargin)) > bar * (1.0 + kBoundMargin))
      return std::numeric_limits<double>::infinity();
    const double c = condition_number(wd_.data(), d_);
    return c <= bar ? c : std::numeric_limits<double>::infinity();
  }
  const std::vector<float>& weights() const { return w_; }

 private:
  uint64_t seed_;
  int d_;
  std::vector<float> w_;
  std::vector<double> wd_;
  CondBound bound_;
};

// f(0) .. f(n - 1) on up to T threads (the caller's among them), each thread taking the next
// task not yet taken: which thread runs a task never changes what it computes. The first
// exception a task threw is rethrown once every thread has ended.
template <class F>
void on_tasks(int T, size_t n, const F& f) {
  const size_t threads = std::min(static_cast<size_t>(T), n);
  std::vector<std::exception_ptr> errors(threads);
  std::atomic<size_t> next{0};
  const auto work = [&](size_t t) {
    try {
      for (size_t task; (task = next.fetch_add(1, std::memory_order_relaxed)) < n;) f(task);
    } catch (...) {
      errors[t] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  if (threads > 0) work(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace

double condition_number(const double* a, int d) {
  if (d < 1) throw InputError("condition_number: dimension must be at least 1");
  if (a == nullptr) throw InputError("condition_number: null matrix");
  for (int64_t i = 0; i < int64_t{d} * d; ++i) {
    if (!std::isfinite(a[i])) return std::numeric_limits<double>::infinity();
  }
  thread_local CondWorkspace ws;
  return ws.cond(a, d);
}

std::vector<std::vector<float>> draw_mixing_population(const std::vector<DgpParams>& ps,
                                                       const std::vector<uint64_t>& seeds,
                                                       int threads) {
  if (ps.size() != seeds.size()) {
    throw InputError("mixing: " + std::to_string(ps.size()) + " replicas' parameters but " +
                     std::to_string(seeds.size()) + " seeds");
  }
  for (const DgpParams& p : ps) {
    dgp::check_mixing(p.mixing_layers, p.d, 0);
    if (p.mixing_cond_draws < 1) {
      throw InputError("mixing: mixing_cond_draws must be at least 1, got " +
                       std::to_string(p.mixing_cond_draws));
    }
  }
  if (threads < 0) throw InputError("mixing: threads must be >= 0, got " + std::to_string(threads));
  const size_t K = ps.size();
  // Replicas whose weights come from a file read it; the others are drawn together.
  std::vector<size_t> drawn;
  for (size_t k = 0; k < K; ++k)
    if (ps[k].mixing_file.empty()) drawn.push_back(k);
  if (drawn.size() < K) {
    std::vector<DgpParams> dp;
    std::vector<uint64_t> ds;
    for (size_t k : drawn) {
      dp.push_back(ps[k]);
      ds.push_back(seeds[k]);
    }
    std::vector<std::vector<float>> d = draw_mixing_population(dp, ds, threads);
    std::vector<std::vector<float>> out(K);
    for (size_t j = 0; j < drawn.size(); ++j) out[drawn[j]] = std::move(d[j]);
    for (size_t k = 0; k < K; ++k)
      if (!ps[k].mixing_file.empty()) out[k] = dgp::read_mixing(ps[k]);
    return out;
  }
  const int T = threads > 0 ? threads : usable_cores();
  if (K == 0) return {};
  const auto draws = [&](size_t k) { return static_cast<uint64_t>(ps[k].mixing_cond_draws); };

  // The thresholds: each replica's minimum over its first `draws` candidates, a minimum per
  // contiguous share of them and then over the shares. A minimum does not depend on the order
  // it is taken in, and each candidate's condition number is decided exactly (Candidates), so
  // any split gives the serial threshold bit for bit. Every replica's shares are tasks of equal
  // cost; a replica gets enough of them that the tasks keep every thread busy.
  const size_t shares = std::max<size_t>(1, (static_cast<size_t>(T) + K - 1) / K);
  std::vector<double> share_min(K * shares);
  on_tasks(T, share_min.size(), [&](size_t task) {
    const size_t k = task / shares;
    const uint64_t s = task % shares, n = draws(k);
    Candidates c(seeds[k], ps[k].d);
    double m = std::numeric_limits<double>::infinity();
    for (uint64_t a = n * s / shares; a < n * (s + 1) / shares; ++a) {
      c.draw(a);
      m = std::min(m, c.at_most(m));
    }
    share_min[task] = m;
  });
  std::vector<double> threshold(K);
  for (size_t k = 0; k < K; ++k)
    threshold[k] =
        *std::min_element(share_min.begin() + static_cast<std::ptrdiff_t>(k * shares),
                          share_min.begin() + static_cast<std::ptrdiff_t>((k + 1) * shares));

  // Each layer: the first later candidate at or below the threshold. The replicas still
  // searching advance together in rounds; in a round each scans consecutive blocks from its
  // next candidate, as many blocks as keep every thread busy (so the last, unlucky replica of a
  // population gets every thread, and a population larger than the thread count one block
  // each). A replica's lowest hit in a round is the serial scan's hit; a round without one
  // moves it on.
  std::vector<std::vector<float>> weights(K);
  std::vector<int> layer(K, 0);
  std::vector<uint64_t> next(K);
  std::vector<size_t> active;
  for (size_t k = 0; k < K; ++k) {
    weights[k].resize(static_cast<size_t>(ps[k].mixing_layers) * static_cast<size_t>(ps[k].d) *
                      static_cast<size_t>(ps[k].d));
    next[k] = draws(k);
    active.push_back(k);
  }
  constexpr uint64_t kBlock = 256;  // candidates a task tests (~10 us each at d = 20)
  const uint64_t none = std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> hit;
  while (!active.empty()) {
    const size_t blocks =
        std::max<size_t>(1, (static_cast<size_t>(T) + active.size() - 1) / active.size());
    hit.assign(active.size() * blocks, none);
    on_tasks(T, hit.size(), [&](size_t task) {
      const size_t k = active[task / blocks];
      Candidates c(seeds[k], ps[k].d);
      const uint64_t begin = next[k] + kBlock * (task % blocks);
      for (uint64_t a = begin; a < begin + kBlock; ++a) {
        c.draw(a);
        if (c.at_most(threshold[k]) <= threshold[k]) {
          hit[task] = a;
          return;
        }
      }
    });
    std::vector<size_t> still;
    for (size_t j = 0; j < active.size(); ++j) {
      const size_t k = active[j];
      const uint64_t found =
          *std::min_element(hit.begin() + static_cast<std::ptrdiff_t>(j * blocks),
                            hit.begin() + static_cast<std::ptrdiff_t>((j + 1) * blocks));
      if (found == none) {
        next[k] += kBlock * blocks;
      } else {
        Candidates c(seeds[k], ps[k].d);
        c.draw(found);
        std::copy(c.weights().begin(), c.weights().end(),
                  weights[k].begin() + static_cast<std::ptrdiff_t>(static_cast<size_t>(layer[k]) *
                                                                   c.weights().size()));
        next[k] = found + 1;
        ++layer[k];
      }
      if (layer[k] < ps[k].mixing_layers) still.push_back(k);
    }
    active = std::move(still);
  }
  return weights;
}

std::vector<float> draw_mixing(const DgpParams& p, uint64_t seed, int threads) {
  return draw_mixing_population({p}, {seed}, threads)[0];
}

void mixing_inverse(const float* weights, int layers, int d, const float* x, int64_t n, double* z) {
  dgp::check_mixing(layers, d, n);
  dgp::check_mixing_buffers(weights, x, z, n);
  if (n == 0) return;
  const size_t nd = static_cast<size_t>(d);
  const size_t total = static_cast<size_t>(n) * nd;
  for (size_t i = 0; i < total; ++i) z[i] = static_cast<double>(x[i]);

  std::vector<double> lu(nd * nd);
  std::vector<lapack_int> piv(nd);
  // z [n][d] row-major is a d x n column-major right-hand side, one sample per column. The
  // row-major W read as column-major is W^T, so solving with trans = 'T' solves W y = b.
  for (int l = layers - 1; l >= 0; --l) {
    const float* wl = weights + static_cast<size_t>(l) * nd * nd;
    for (size_t i = 0; i < nd * nd; ++i) lu[i] = static_cast<double>(wl[i]);
    lapack_int info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, d, d, lu.data(), d, piv.data());
    if (info != 0) {
      throw InputError("mixing_inverse: layer " + std::to_string(l) + " is singular");
    }
    // LAPACK counts columns in lapack_int; solve in slices that fit.
    const int64_t max_cols = std::numeric_limits<lapack_int>::max() / 2;
    for (int64_t s0 = 0; s0 < n; s0 += max_cols) {
      const auto cols = static_cast<lapack_int>(std::min<int64_t>(max_cols, n - s0));
      info = LAPACKE_dgetrs(LAPACK_COL_MAJOR, 'T', d, cols, lu.data(), d, piv.data(),
                            z + static_cast<size_t>(s0) * nd, d);
      if (info != 0) throw InputError("mixing_inverse: LAPACK dgetrs failed");
    }
    if (l > 0) {
      for (size_t i = 0; i < total; ++i) z[i] = leaky_inverse(z[i]);
    }
  }
}

}  // namespace xent
