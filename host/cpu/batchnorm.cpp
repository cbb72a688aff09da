// BatchNorm1d followed by LeakyReLU, fused as the kernel fuses them: the activation never
// needs its own buffer, and the backward pass reads the sign of the output instead.
//
// Loops run row by row with the column innermost, over per-column coefficients prepared
// first, so that the compiler vectorises them; column sums accumulate in double because the
// reference should be the more exact side of every comparison. A folded bias (the linear
// layer's) is added where h is read, in float as linear_forward adds it; the loops are
// instantiated with and without it, so that without one nothing is added (not even +0.0f,
// which would turn a -0.0f input into +0.0f).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/column_sums.h"
#include "cpu/ops.h"
#include "cpu/vector_clones.h"

namespace xent::cpu {
namespace {

// Written as a select of constants so the loops that use it if-convert and vectorise.
inline float leaky(float v, float slope) { return v * (v > 0.0f ? 1.0f : slope); }

// Element c of a row of h, with the folded bias when there is one.
template <bool kBias>
inline float at(const float* __restrict h, const float* __restrict bias, int c) {
  return kBias ? h[c] + bias[c] : h[c];
}

// One row of the backward pass's two sweeps; separate functions with restrict pointers so that
// the compiler can prove nothing aliases and vectorise across columns.
template <bool kBias>
XENT_VECTOR_CLONES void backward_sums_row(int w, float slope, const float* __restrict h,
                                          const float* __restrict bias, const float* __restrict a,
                                          const float* __restrict da, const float* __restrict mean,
                                          const float* __restrict rstd, float* __restrict sg,
                                          float* __restrict sb) {
  for (int c = 0; c < w; ++c) {
    const float dy = da[c] * (a[c] > 0.0f ? 1.0f : slope);
    const float xhat = (at<kBias>(h, bias, c) - mean[c]) * rstd[c];
    sg[c] += dy * xhat;
    sb[c] += dy;
  }
}

template <bool kBias>
XENT_VECTOR_CLONES void backward_dh_row(int w, float slope, const float* __restrict h,
                                        const float* __restrict bias, const float* __restrict a,
                                        const float* __restrict da, const float* __restrict mean,
                                        const float* __restrict rstd, const float* __restrict coef,
                                        const float* __restrict mb, const float* __restrict mg,
                                        float* __restrict dh) {
  for (int c = 0; c < w; ++c) {
    const float dy = da[c] * (a[c] > 0.0f ? 1.0f : slope);
    const float xhat = (at<kBias>(h, bias, c) - mean[c]) * rstd[c];
    dh[c] = coef[c] * (dy - mb[c] - xhat * mg[c]);
  }
}

// Column sums run in blocks of kBlock rows: float within a block (vectorised), the blocks'
// sums added into double in block order. Threads take blocks, each block's float sums go to
// its own row of a [blocks][width] table, and one pass folds the table in block order: the
// same additions in the same order as on one thread.
constexpr int64_t kBlock = 32;

// Rows per thread below which a pass stays on one thread (64 rows of 50 columns: ~1 us).
constexpr int64_t kGrain = 64;

// Column sums of (h - shift)^power, power 1 or 2, over the rows [r0, r1) of one block.
template <int power, bool kBias>
XENT_VECTOR_CLONES void block_sums(const float* __restrict h, const float* __restrict bias,
                                   int64_t r0, int64_t r1, int w, const float* __restrict shift,
                                   float* __restrict block) {
  for (int c = 0; c < w; ++c) block[c] = 0.0f;
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict row = h + r * w;
    for (int c = 0; c < w; ++c) {
      const float v = at<kBias>(row, bias, c) - shift[c];
      block[c] += power == 1 ? v : v * v;
    }
  }
}

// The blocks of K replicas of n rows, [K][blocks(n)]; block j of replica k is rows
// [j * kBlock, min(n, (j + 1) * kBlock)).
int64_t blocks(int64_t n) { return (n + kBlock - 1) / kBlock; }

// fn(k, r0, r1, block_index) for every block of every replica, on the pool's threads.
template <class F>
void for_blocks(ThreadPool& pool, int K, int64_t n, const F& fn) {
  const int64_t per = blocks(n);
  pool.run(K * per, kGrain / kBlock, [&](int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; ++j) {
      const int64_t k = j / per;
      const int64_t r0 = (j - k * per) * kBlock;
      fn(k, r0, std::min(n, r0 + kBlock), j);
    }
  });
}

// acc [K][w] = the sums over blocks of table [K][blocks][w], in block order, in double.
void fold(int K, int64_t per, int w, const std::vector<float>& table, double* acc) {
  for (int k = 0; k < K; ++k)
    for (int c = 0; c < w; ++c) {
      double sum = 0.0;
      for (int64_t j = 0; j < per; ++j) sum += table[(k * per + j) * w + c];
      acc[int64_t{k} * w + c] = sum;
    }
}

// fn(k, r) for every row of every replica, on the pool's threads.
template <class F>
void for_each_row(ThreadPool& pool, int K, int64_t n, const F& fn) {
  pool.run(K * n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i / n, i % n);
  });
}

template <bool kBias>
XENT_VECTOR_CLONES void affine_act_row(int w, float slope, const float* __restrict h,
                                       const float* __restrict bias, const float* __restrict scale,
                                       const float* __restrict shift, float* __restrict a) {
  for (int c = 0; c < w; ++c) a[c] = leaky(at<kBias>(h, bias, c) * scale[c] + shift[c], slope);
}

// The forward passes' last sweep: a = LeakyReLU((h + bias) * scale + shift), by rows.
void affine_act(ThreadPool& pool, const BatchNormShape& s, const float* h, const float* bias,
                const float* scale, const float* shift, float* a) {
  const int64_t n = s.rows;
  const int w = s.width;
  for_each_row(pool, s.K, n, [&](int64_t k, int64_t r) {
    const int64_t o = (k * n + r) * w;
    if (bias)
      affine_act_row<true>(w, s.slope, h + o, bias + k * w, scale + k * w, shift + k * w, a + o);
    else
      affine_act_row<false>(w, s.slope, h + o, nullptr, scale + k * w, shift + k * w, a + o);
  });
}

}  // namespace

void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* bias,
                                 const float* gamma, const float* beta, float* a, float* mean,
                                 float* rstd, float* running_mean, float* running_var,
                                 ThreadPool& pool) {
  const int64_t n = s.rows;
  const int w = s.width;
  const int64_t per = blocks(n);
  const size_t kw = static_cast<size_t>(s.K) * w;
  std::vector<float> table(static_cast<size_t>(s.K * per) * w), mf(kw), zero(w);
  std::vector<double> sum(kw), sq(kw);
  for_blocks(pool, s.K, n, [&](int64_t k, int64_t r0, int64_t r1, int64_t j) {
    if (bias)
      block_sums<1, true>(h + k * n * w, bias + k * w, r0, r1, w, zero.data(),
                          table.data() + j * w);
    else
      block_sums<1, false>(h + k * n * w, nullptr, r0, r1, w, zero.data(), table.data() + j * w);
  });
  fold(s.K, per, w, table, sum.data());
  for (size_t i = 0; i < kw; ++i) mf[i] = static_cast<float>(sum[i] / static_cast<double>(n));
  // Two passes: the variance about the mean, not E[h^2] - mean^2, which cancels badly.
  for_blocks(pool, s.K, n, [&](int64_t k, int64_t r0, int64_t r1, int64_t j) {
    const float* mk = mf.data() + k * w;
    if (bias)
      block_sums<2, true>(h + k * n * w, bias + k * w, r0, r1, w, mk, table.data() + j * w);
    else
      block_sums<2, false>(h + k * n * w, nullptr, r0, r1, w, mk, table.data() + j * w);
  });
  fold(s.K, per, w, table, sq.data());
  std::vector<float> scale(kw), shift(kw);
  for (size_t i = 0; i < kw; ++i) {
    const double var = sq[i] / static_cast<double>(n);
    const float rs = static_cast<float>(1.0 / std::sqrt(var + s.eps));
    mean[i] = mf[i];
    rstd[i] = rs;
    const double unbiased = n > 1 ? sq[i] / static_cast<double>(n - 1) : var;
    running_mean[i] = static_cast<float>((1.0 - s.momentum) * running_mean[i] + s.momentum * mf[i]);
    running_var[i] =
        static_cast<float>((1.0 - s.momentum) * running_var[i] + s.momentum * unbiased);
    scale[i] = gamma[i] * rs;
    shift[i] = beta[i] - mf[i] * scale[i];
  }
  affine_act(pool, s, h, bias, scale.data(), shift.data(), a);
}

void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* bias,
                                const float* gamma, const float* beta, const float* running_mean,
                                const float* running_var, float* a, ThreadPool& pool) {
  const size_t kw = static_cast<size_t>(s.K) * s.width;
  std::vector<float> scale(kw), shift(kw);
  for (size_t i = 0; i < kw; ++i) {
    scale[i] = gamma[i] / std::sqrt(running_var[i] + s.eps);
    shift[i] = beta[i] - running_mean[i] * scale[i];
  }
  affine_act(pool, s, h, bias, scale.data(), shift.data(), a);
}

void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* bias,
                            const float* a, const float* gamma, const float* mean,
                            const float* rstd, const float* da, float* dh, float* dbias,
                            float* dgamma, float* dbeta, ThreadPool& pool) {
  const int64_t n = s.rows;
  const int w = s.width;
  const int64_t per = blocks(n);
  const size_t kw = static_cast<size_t>(s.K) * w;
  // dy: the gradient at the BatchNorm output. The activation's slope is read off the sign of
  // its output, which equals the sign of its input since the slope is positive.
  std::vector<float> tg(static_cast<size_t>(s.K * per) * w), tb(tg.size());
  for_blocks(pool, s.K, n, [&](int64_t k, int64_t r0, int64_t r1, int64_t j) {
    float* bg = tg.data() + j * w;
    float* bb = tb.data() + j * w;
    std::fill_n(bg, w, 0.0f);
    std::fill_n(bb, w, 0.0f);
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t o = (k * n + r) * w;
      if (bias)
        backward_sums_row<true>(w, s.slope, h + o, bias + k * w, a + o, da + o, mean + k * w,
                                rstd + k * w, bg, bb);
      else
        backward_sums_row<false>(w, s.slope, h + o, nullptr, a + o, da + o, mean + k * w,
                                 rstd + k * w, bg, bb);
    }
  });
  std::vector<double> sg(kw), sb(kw);
  fold(s.K, per, w, tg, sg.data());
  fold(s.K, per, w, tb, sb.data());
  const double inv_n = 1.0 / static_cast<double>(n);
  std::vector<float> coef(kw), mb(kw), mg(kw);
  for (size_t i = 0; i < kw; ++i) {
    dgamma[i] = static_cast<float>(sg[i]);
    dbeta[i] = static_cast<float>(sb[i]);
    coef[i] = gamma[i] * rstd[i];
    mb[i] = static_cast<float>(sb[i] * inv_n);
    mg[i] = static_cast<float>(sg[i] * inv_n);
  }
  // dh = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
  for_each_row(pool, s.K, n, [&](int64_t k, int64_t r) {
    const int64_t o = (k * n + r) * w;
    const int64_t p = k * w;
    if (bias)
      backward_dh_row<true>(w, s.slope, h + o, bias + p, a + o, da + o, mean + p, rstd + p,
                            coef.data() + p, mb.data() + p, mg.data() + p, dh + o);
    else
      backward_dh_row<false>(w, s.slope, h + o, nullptr, a + o, da + o, mean + p, rstd + p,
                             coef.data() + p, mb.data() + p, mg.data() + p, dh + o);
  });
  if (!dbias) return;
  // The bias's gradient, d(loss)/d(bias) = column sums of dh, in columns of kDbiasColumns.
  constexpr int kDbiasColumns = 64;
  const int64_t col_blocks = (w + kDbiasColumns - 1) / kDbiasColumns;
  pool.run(s.K * col_blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t k = t / col_blocks;
      const int c0 = static_cast<int>((t - k * col_blocks) * kDbiasColumns);
      column_sums(n, w, c0, std::min(w, c0 + kDbiasColumns), dh + k * n * w, dbias + k * w);
    }
  });
}

}  // namespace xent::cpu
