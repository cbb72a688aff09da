// Plain double references of the probe reductions (kernels/probe.cu): each sum runs over the rows
// in order. The kernels add the same terms in another order (chunks of rows, then the chunks).
#include "reference/probe_moments.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace xent::test {

void probe_column_means(int K, int64_t n, int cols, const float* a, int64_t begin, int64_t end,
                        double* mean) {
  for (int64_t k = 0; k < K; ++k) {
    const float* ak = a + k * n * cols;
    double* mk = mean + k * cols;
    for (int c = 0; c < cols; ++c) {
      double s = 0;
      for (int64_t i = begin; i < end; ++i) s += ak[i * cols + c];
      // A division, as the kernel: a constant column's mean is then its value exactly.
      mk[c] = s / static_cast<double>(end - begin);
    }
  }
}

void probe_moments(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                   int64_t end, const double* xshift, const double* yshift, bool full_xx,
                   double* gram) {
  const int w = p + q;
  std::vector<double> z(w), g(static_cast<size_t>(w) * w);
  for (int64_t k = 0; k < K; ++k) {
    std::fill(g.begin(), g.end(), 0.0);
    for (int64_t i = begin; i < end; ++i) {
      for (int j = 0; j < p; ++j)
        z[j] = static_cast<double>(x[(k * n + i) * p + j]) - (xshift ? xshift[k * p + j] : 0.0);
      for (int c = 0; c < q; ++c)
        z[p + c] = static_cast<double>(y[(k * n + i) * q + c]) - (yshift ? yshift[k * q + c] : 0.0);
      for (int a = 0; a < w; ++a) {
        for (int b = a; b < w; ++b) g[static_cast<size_t>(a) * w + b] += z[a] * z[b];
      }
    }
    double* gk = gram + k * w * w;
    for (int a = 0; a < w; ++a) {
      for (int b = 0; b < w; ++b) {
        const int lo = a < b ? a : b, hi = a < b ? b : a;
        if (!full_xx && hi < p && lo != hi) continue;
        gk[static_cast<int64_t>(a) * w + b] = g[static_cast<size_t>(lo) * w + hi];
      }
    }
  }
}

void probe_residuals(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                     int64_t end, const double* map, const double* xshift, const double* yshift,
                     const double* ymean, double* ss_res, double* ss_tot) {
  std::vector<double> dx(p), pred(q);
  for (int64_t k = 0; k < K; ++k) {
    const double* bk = map + k * p * q;
    double* res = ss_res + k * q;
    double* tot = ss_tot + k * q;
    for (int c = 0; c < q; ++c) res[c] = tot[c] = 0.0;
    for (int64_t i = begin; i < end; ++i) {
      for (int j = 0; j < p; ++j)
        dx[j] = static_cast<double>(x[(k * n + i) * p + j]) - (xshift ? xshift[k * p + j] : 0.0);
      for (int c = 0; c < q; ++c) {
        pred[c] = yshift ? yshift[k * q + c] : 0.0;
        for (int j = 0; j < p; ++j) pred[c] += dx[j] * bk[static_cast<int64_t>(j) * q + c];
      }
      for (int c = 0; c < q; ++c) {
        const double yv = y[(k * n + i) * q + c];
        const double r = yv - pred[c];
        const double t = yv - ymean[k * q + c];
        res[c] += r * r;
        tot[c] += t * t;
      }
    }
  }
}

void probe_correlations(int K, int p, int q, const double* gram, double* r) {
  const int64_t w = p + q;
  for (int64_t k = 0; k < K; ++k) {
    const double* g = gram + k * w * w;
    for (int64_t j = 0; j < p; ++j) {
      for (int64_t c = p; c < w; ++c) {
        const double sxx = g[j * w + j], syy = g[c * w + c];
        double v = 0;
        // A constant column's centred sum of squares is exactly 0 (see probe_column_means).
        if (sxx != 0.0 && syy != 0.0) v = g[j * w + c] / std::sqrt(sxx * syy);
        r[(k * p + j) * q + (c - p)] = std::isfinite(v) ? std::fmin(std::fmax(v, -1.0), 1.0) : 0.0;
      }
    }
  }
}

}  // namespace xent::test
