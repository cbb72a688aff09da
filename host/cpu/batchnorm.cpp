// BatchNorm1d followed by LeakyReLU, fused as the kernel fuses them: the activation never
// needs its own buffer, and the backward pass reads the sign of the output instead.
//
// Loops run row by row with the column innermost, over per-column coefficients prepared
// first, so that the compiler vectorises them; column sums accumulate in double because the
// reference should be the more exact side of every comparison.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/ops.h"
#include "cpu/vector_clones.h"

namespace xent::cpu {
namespace {

// Written as a select of constants so the loops that use it if-convert and vectorise.
inline float leaky(float v, float slope) { return v * (v > 0.0f ? 1.0f : slope); }

// One row of the backward pass's two sweeps; separate functions with restrict pointers so that
// the compiler can prove nothing aliases and vectorise across columns.
XENT_VECTOR_CLONES void backward_sums_row(int w, float slope, const float* __restrict h,
                                          const float* __restrict a, const float* __restrict da,
                                          const float* __restrict mean,
                                          const float* __restrict rstd, float* __restrict sg,
                                          float* __restrict sb) {
  for (int c = 0; c < w; ++c) {
    const float dy = da[c] * (a[c] > 0.0f ? 1.0f : slope);
    const float xhat = (h[c] - mean[c]) * rstd[c];
    sg[c] += dy * xhat;
    sb[c] += dy;
  }
}

XENT_VECTOR_CLONES void backward_dh_row(int w, float slope, const float* __restrict h,
                                        const float* __restrict a, const float* __restrict da,
                                        const float* __restrict mean, const float* __restrict rstd,
                                        const float* __restrict coef, const float* __restrict mb,
                                        const float* __restrict mg, float* __restrict dh) {
  for (int c = 0; c < w; ++c) {
    const float dy = da[c] * (a[c] > 0.0f ? 1.0f : slope);
    const float xhat = (h[c] - mean[c]) * rstd[c];
    dh[c] = coef[c] * (dy - mb[c] - xhat * mg[c]);
  }
}

// Column sums of (h - shift)^power, power 1 or 2, over rows [r0, r1): float within a block,
// accumulated into double.
template <int power>
XENT_VECTOR_CLONES void column_sums(const float* __restrict h, int64_t r0, int64_t r1, int w,
                                    const float* __restrict shift, float* __restrict block,
                                    double* __restrict acc) {
  constexpr int64_t kBlock = 32;
  for (int64_t b0 = r0; b0 < r1; b0 += kBlock) {
    for (int c = 0; c < w; ++c) block[c] = 0.0f;
    for (int64_t r = b0; r < std::min(r1, b0 + kBlock); ++r) {
      const float* __restrict row = h + r * w;
      for (int c = 0; c < w; ++c) {
        const float v = row[c] - shift[c];
        block[c] += power == 1 ? v : v * v;
      }
    }
    for (int c = 0; c < w; ++c) acc[c] += block[c];
  }
}

XENT_VECTOR_CLONES void affine_act_row(int w, float slope, const float* __restrict h,
                                       const float* __restrict scale, const float* __restrict shift,
                                       float* __restrict a) {
  for (int c = 0; c < w; ++c) a[c] = leaky(h[c] * scale[c] + shift[c], slope);
}

}  // namespace

void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* gamma,
                                 const float* beta, float* a, float* mean, float* rstd,
                                 float* running_mean, float* running_var) {
  const int64_t n = s.rows;
  const int w = s.width;
  std::vector<double> sum(w), sq(w);
  std::vector<float> mf(w), scale(w), shift(w), zero(w), block(w);
  for (int k = 0; k < s.K; ++k) {
    const float* hk = h + k * n * w;
    float* ak = a + k * n * w;
    const int64_t p = int64_t{k} * w;
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(sq.begin(), sq.end(), 0.0);
    std::fill(zero.begin(), zero.end(), 0.0f);
    column_sums<1>(hk, 0, n, w, zero.data(), block.data(), sum.data());
    for (int c = 0; c < w; ++c) mf[c] = static_cast<float>(sum[c] / static_cast<double>(n));
    // Two passes: the variance about the mean, not E[h^2] - mean^2, which cancels badly.
    column_sums<2>(hk, 0, n, w, mf.data(), block.data(), sq.data());
    for (int c = 0; c < w; ++c) {
      const double var = sq[c] / static_cast<double>(n);
      const float rs = static_cast<float>(1.0 / std::sqrt(var + s.eps));
      mean[p + c] = mf[c];
      rstd[p + c] = rs;
      const double unbiased = n > 1 ? sq[c] / static_cast<double>(n - 1) : var;
      running_mean[p + c] =
          static_cast<float>((1.0 - s.momentum) * running_mean[p + c] + s.momentum * mf[c]);
      running_var[p + c] =
          static_cast<float>((1.0 - s.momentum) * running_var[p + c] + s.momentum * unbiased);
      scale[c] = gamma[p + c] * rs;
      shift[c] = beta[p + c] - mf[c] * scale[c];
    }
    for (int64_t r = 0; r < n; ++r)
      affine_act_row(w, s.slope, hk + r * w, scale.data(), shift.data(), ak + r * w);
  }
}

void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* gamma,
                                const float* beta, const float* running_mean,
                                const float* running_var, float* a) {
  const int64_t n = s.rows;
  const int w = s.width;
  std::vector<float> scale(w), shift(w);
  for (int k = 0; k < s.K; ++k) {
    const int64_t p = int64_t{k} * w;
    for (int c = 0; c < w; ++c) {
      scale[c] = gamma[p + c] / std::sqrt(running_var[p + c] + s.eps);
      shift[c] = beta[p + c] - running_mean[p + c] * scale[c];
    }
    const float* hk = h + k * n * w;
    float* ak = a + k * n * w;
    for (int64_t r = 0; r < n; ++r)
      affine_act_row(w, s.slope, hk + r * w, scale.data(), shift.data(), ak + r * w);
  }
}

void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* a,
                            const float* gamma, const float* mean, const float* rstd,
                            const float* da, float* dh, float* dgamma, float* dbeta) {
  const int64_t n = s.rows;
  const int w = s.width;
  std::vector<double> sg(w), sb(w);
  std::vector<float> mf(w), rs(w), coef(w), mb(w), mg(w), bg(w), bb(w);
  for (int k = 0; k < s.K; ++k) {
    const int64_t p = int64_t{k} * w;
    const int64_t o = k * n * w;
    std::fill(sg.begin(), sg.end(), 0.0);
    std::fill(sb.begin(), sb.end(), 0.0);
    std::copy_n(mean + p, w, mf.begin());
    std::copy_n(rstd + p, w, rs.begin());
    // dy: the gradient at the BatchNorm output. The activation's slope is read off the sign
    // of its output, which equals the sign of its input since the slope is positive. Blocks
    // of rows sum in float (vectorised), blocks into double.
    constexpr int64_t kBlock = 32;
    for (int64_t r0 = 0; r0 < n; r0 += kBlock) {
      std::fill(bg.begin(), bg.end(), 0.0f);
      std::fill(bb.begin(), bb.end(), 0.0f);
      for (int64_t r = r0; r < std::min(n, r0 + kBlock); ++r)
        backward_sums_row(w, s.slope, h + o + r * w, a + o + r * w, da + o + r * w, mf.data(),
                          rs.data(), bg.data(), bb.data());
      for (int c = 0; c < w; ++c) {
        sg[c] += bg[c];
        sb[c] += bb[c];
      }
    }
    const double inv_n = 1.0 / static_cast<double>(n);
    for (int c = 0; c < w; ++c) {
      dgamma[p + c] = static_cast<float>(sg[c]);
      dbeta[p + c] = static_cast<float>(sb[c]);
      coef[c] = gamma[p + c] * rs[c];
      mb[c] = static_cast<float>(sb[c] * inv_n);
      mg[c] = static_cast<float>(sg[c] * inv_n);
    }
    // dh = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
    for (int64_t r = 0; r < n; ++r)
      backward_dh_row(w, s.slope, h + o + r * w, a + o + r * w, da + o + r * w, mf.data(),
                      rs.data(), coef.data(), mb.data(), mg.data(), dh + o + r * w);
  }
}

}  // namespace xent::cpu
