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

// Column sums run in blocks of kBlock rows: float within a block (vectorised), the blocks'
// sums added into double in block order. Threads take blocks, each block's float sums go to
// its own row of a [blocks][width] table, and one pass folds the table in block order: the
// same additions in the same order as on one thread.
constexpr int64_t kBlock = 32;

// Rows per thread below which a pass stays on one thread (64 rows of 50 columns: ~1 us).
constexpr int64_t kGrain = 64;

// Column sums of (h - shift)^power, power 1 or 2, over the rows [r0, r1) of one block.
template <int power>
XENT_VECTOR_CLONES void block_sums(const float* __restrict h, int64_t r0, int64_t r1, int w,
                                   const float* __restrict shift, float* __restrict block) {
  for (int c = 0; c < w; ++c) block[c] = 0.0f;
  for (int64_t r = r0; r < r1; ++r) {
    const float* __restrict row = h + r * w;
    for (int c = 0; c < w; ++c) {
      const float v = row[c] - shift[c];
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

XENT_VECTOR_CLONES void affine_act_row(int w, float slope, const float* __restrict h,
                                       const float* __restrict scale, const float* __restrict shift,
                                       float* __restrict a) {
  for (int c = 0; c < w; ++c) a[c] = leaky(h[c] * scale[c] + shift[c], slope);
}

}  // namespace

void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* gamma,
                                 const float* beta, float* a, float* mean, float* rstd,
                                 float* running_mean, float* running_var, ThreadPool& pool) {
  const int64_t n = s.rows;
  const int w = s.width;
  const int64_t per = blocks(n);
  const size_t kw = static_cast<size_t>(s.K) * w;
  std::vector<float> table(static_cast<size_t>(s.K * per) * w), mf(kw), zero(w);
  std::vector<double> sum(kw), sq(kw);
  for_blocks(pool, s.K, n, [&](int64_t k, int64_t r0, int64_t r1, int64_t j) {
    block_sums<1>(h + k * n * w, r0, r1, w, zero.data(), table.data() + j * w);
  });
  fold(s.K, per, w, table, sum.data());
  for (size_t i = 0; i < kw; ++i) mf[i] = static_cast<float>(sum[i] / static_cast<double>(n));
  // Two passes: the variance about the mean, not E[h^2] - mean^2, which cancels badly.
  for_blocks(pool, s.K, n, [&](int64_t k, int64_t r0, int64_t r1, int64_t j) {
    block_sums<2>(h + k * n * w, r0, r1, w, mf.data() + k * w, table.data() + j * w);
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
  for_each_row(pool, s.K, n, [&](int64_t k, int64_t r) {
    const int64_t o = (k * n + r) * w;
    affine_act_row(w, s.slope, h + o, scale.data() + k * w, shift.data() + k * w, a + o);
  });
}

void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* gamma,
                                const float* beta, const float* running_mean,
                                const float* running_var, float* a, ThreadPool& pool) {
  const int64_t n = s.rows;
  const int w = s.width;
  const size_t kw = static_cast<size_t>(s.K) * w;
  std::vector<float> scale(kw), shift(kw);
  for (size_t i = 0; i < kw; ++i) {
    scale[i] = gamma[i] / std::sqrt(running_var[i] + s.eps);
    shift[i] = beta[i] - running_mean[i] * scale[i];
  }
  for_each_row(pool, s.K, n, [&](int64_t k, int64_t r) {
    const int64_t o = (k * n + r) * w;
    affine_act_row(w, s.slope, h + o, scale.data() + k * w, shift.data() + k * w, a + o);
  });
}

void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* a,
                            const float* gamma, const float* mean, const float* rstd,
                            const float* da, float* dh, float* dgamma, float* dbeta,
                            ThreadPool& pool) {
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
      backward_sums_row(w, s.slope, h + o, a + o, da + o, mean + k * w, rstd + k * w, bg, bb);
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
    backward_dh_row(w, s.slope, h + o, a + o, da + o, mean + p, rstd + p, coef.data() + p,
                    mb.data() + p, mg.data() + p, dh + o);
  });
}

}  // namespace xent::cpu
