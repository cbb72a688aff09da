// CudaBackend::probe: the sums over rows on the device (kernels/probe.cu), the small solves on
// the host (xent/metrics.h), so that features never leave the GPU; only p x q sized moments do.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cuda/cuda_backend.h"
#include "kernels/probe.h"
#include "xent/error.h"
#include "xent/metrics.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {
namespace {

// Device doubles that live for one probe call (a probe is not part of a training step).
class Doubles {
 public:
  Doubles(Backend& b, int64_t n) : b_(b), n_(std::max<int64_t>(n, 1)) {
    p_ = static_cast<double*>(b_.allocate(static_cast<size_t>(n_) * sizeof(double)));
  }
  ~Doubles() { b_.release(p_); }
  Doubles(const Doubles&) = delete;
  Doubles& operator=(const Doubles&) = delete;
  double* get() const { return p_; }
  std::vector<double> download(int64_t n) const {
    std::vector<double> h(static_cast<size_t>(n));
    b_.download(h.data(), p_, h.size() * sizeof(double));
    return h;
  }
  void upload(const std::vector<double>& h) { b_.upload(p_, h.data(), h.size() * sizeof(double)); }

 private:
  Backend& b_;
  int64_t n_;
  double* p_;
};

void require_finite(const std::vector<double>& v, const char* what) {
  for (double x : v)
    if (!std::isfinite(x))
      throw InputError(std::string("probe: ") + what + " has a non-finite value");
}

}  // namespace

ProbeResult CudaBackend::probe(const float* features, int64_t n, int p, const float* targets, int q,
                               double split, double scale) {
  const ProbeRows rows = probe_rows(n, p, q, split, scale);
  const int64_t fit_end = rows.fit_end, score_begin = rows.score_begin;
  const int w = p + q;
  const int64_t cols = std::max(p, q);
  const int64_t scratch_doubles =
      std::max({kernels::probe_column_means_scratch(1, n, static_cast<int>(cols)),
                kernels::probe_moments_scratch(1, n, p, q, true),
                kernels::probe_residuals_scratch(1, n, q)});
  Doubles scratch(*this, scratch_doubles), xmean(*this, p), ymean(*this, q), gram(*this, w * w),
      map(*this, p * q), ss_res(*this, q), ss_tot(*this, q), score_xmean(*this, p),
      score_ymean(*this, q), r(*this, p * q);
  const cudaStream_t s = stream();

  // Means of the fitting rows: the intercept regression's shifts.
  kernels::probe_column_means(1, n, p, features, 0, fit_end, xmean.get(), scratch.get(), s);
  kernels::probe_column_means(1, n, q, targets, 0, fit_end, ymean.get(), scratch.get(), s);
  kernels::probe_column_means(1, n, q, targets, score_begin, n, score_ymean.get(), scratch.get(),
                              s);
  const std::vector<double> score_mean_y = score_ymean.download(q);
  require_finite(xmean.download(p), "features");
  require_finite(score_mean_y, "targets");

  ProbeResult res;
  // With intercept (centred), then without: fit, then score on the scoring rows.
  for (const bool centred : {true, false}) {
    const double* xs = centred ? xmean.get() : nullptr;
    const double* ys = centred ? ymean.get() : nullptr;
    kernels::probe_moments(1, n, p, q, features, targets, 0, fit_end, xs, ys, true, gram.get(),
                           scratch.get(), s);
    const std::vector<double> fitted = least_squares_from_gram(gram.download(w * w).data(), p, q);
    map.upload(fitted);
    kernels::probe_residuals(1, n, p, q, features, targets, score_begin, n, map.get(), xs, ys,
                             score_ymean.get(), ss_res.get(), ss_tot.get(), scratch.get(), s);
    const double r2 = r2_from_sums(ss_res.download(q).data(), ss_tot.download(q).data(),
                                   score_mean_y.data(), q, n - score_begin);
    if (centred) {
      res.r2_a = r2;
    } else {
      res.r2_o = r2;
      res.mae_o = singular_value_error(fitted, p, q, scale);
    }
  }
  // Correlations on the scoring rows, from moments centred by those rows' means.
  kernels::probe_column_means(1, n, p, features, score_begin, n, score_xmean.get(), scratch.get(),
                              s);
  kernels::probe_moments(1, n, p, q, features, targets, score_begin, n, score_xmean.get(),
                         score_ymean.get(), false, gram.get(), scratch.get(), s);
  kernels::probe_correlations(1, p, q, gram.get(), r.get(), s);
  res.mcc = matched_mean_abs_corr(r.download(p * q), p, q);
  return res;
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
