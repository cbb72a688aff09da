// kernels/batchnorm.cu against xent::cpu's batchnorm_act ops.
//
// Tolerances. The kernels sum each column in the CPU's order (runs of 32 rows in float, folded
// into double in row order) and round every product on its own (__fmul_rn / __dmul_rn), so
// under the emulator (g++, no FMA contraction) every output is bitwise the CPU's. On a GPU the
// same holds by construction (no contraction, IEEE division and square root), but a GPU test
// should not hinge on the compiler never fusing anything, so there the bounds are those of a
// run of 32 terms whose products may each be rounded once more or once less: c * FLT_EPSILON
// times the sum of the magnitudes of the terms, with the c of each output given where it is
// checked. The bias gradient (a folded bias's, dbias) is the exception under the emulator too:
// the kernel sums it in another order than the CPU (see kernels/batchnorm.cu), so it is
// compared with the bound of a double sum everywhere.
#include "kernel_harness.h"
//
#include <cfloat>
#include <cmath>
#include <random>
#include <string>

#include "cpu/ops.h"
#include "kernels/batchnorm.h"

namespace {

using xent::BatchNormShape;
using xent::kernels::BatchNormBlocks;
using xent::test::DeviceVector;

constexpr double kFltEps = FLT_EPSILON;

struct Inputs {
  std::vector<float> h, gamma, beta, running_mean, running_var, da;
  std::vector<float> bias;  // the linear layer's, folded in; empty: none
  const float* bias_or_null() const { return bias.empty() ? nullptr : bias.data(); }
  // What the op normalises: h + bias, rounded as the op rounds it.
  float at(const BatchNormShape& s, size_t i) const {
    return bias.empty() ? h[i] : h[i] + bias[i / (s.rows * s.width) * s.width + i % s.width];
  }
};

// Columns of different means and spreads; column 1 (where it exists) is constant, which tests
// the eps under the square root; beta of either sign puts pre-activations on both sides of 0.
Inputs make_inputs(const BatchNormShape& s, uint32_t seed, bool with_bias = true) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const size_t cols = static_cast<size_t>(s.K) * s.width;
  Inputs in;
  std::vector<float> offset(cols), spread(cols);
  for (size_t i = 0; i < cols; ++i) {
    offset[i] = 3.0f * uniform(gen);
    spread[i] = std::exp(2.0f * uniform(gen));
    in.gamma.push_back(1.0f + 0.5f * uniform(gen));
    in.beta.push_back(0.5f * uniform(gen));
    in.running_mean.push_back(normal(gen));
    in.running_var.push_back(1.0f + 0.5f * uniform(gen));
  }
  for (int k = 0; k < s.K; ++k)
    for (int64_t r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.width; ++c) {
        const size_t p = static_cast<size_t>(k) * s.width + c;
        in.h.push_back(c == 1 ? 2.5f + static_cast<float>(k) : offset[p] + spread[p] * normal(gen));
        in.da.push_back(normal(gen));
      }
  // Zero on the constant column, which must stay exactly constant.
  if (with_bias)
    for (size_t i = 0; i < cols; ++i)
      in.bias.push_back(i % static_cast<size_t>(s.width) == 1 ? 0.0f : uniform(gen));
  return in;
}

BatchNormShape shape(int K, int64_t rows, int width) {
  BatchNormShape s;
  s.K = K;
  s.rows = rows;
  s.width = width;
  return s;
}

// got == want bitwise under the emulator, |got - want| <= tol[i] on a GPU.
void expect_close(const std::vector<float>& got, const std::vector<float>& want,
                  const std::vector<double>& tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (xent::test::kEmulated)
      ASSERT_EQ(xent::test::float_bits(got[i]), xent::test::float_bits(want[i]))
          << what << " i=" << i << " got " << got[i] << " want " << want[i];
    else
      ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), tol[i])
          << what << " i=" << i << " got " << got[i] << " want " << want[i];
  }
}

struct Forward {
  std::vector<float> a, mean, rstd, running_mean, running_var;
};

Forward cpu_train(const BatchNormShape& s, const Inputs& in) {
  Forward f{std::vector<float>(in.h.size()), std::vector<float>(in.gamma.size()),
            std::vector<float>(in.gamma.size()), in.running_mean, in.running_var};
  xent::cpu::batchnorm_act_forward_train(s, in.h.data(), in.bias_or_null(), in.gamma.data(),
                                         in.beta.data(), f.a.data(), f.mean.data(), f.rstd.data(),
                                         f.running_mean.data(), f.running_var.data());
  return f;
}

Forward kernel_train(const BatchNormShape& s, const Inputs& in,
                     BatchNormBlocks blocks = BatchNormBlocks::kAuto) {
  DeviceVector<float> h(in.h), gamma(in.gamma), beta(in.beta), a(in.h.size()),
      mean(in.gamma.size()), rstd(in.gamma.size()), rm(in.running_mean), rv(in.running_var),
      bias(in.bias);
  xent::kernels::batchnorm_act_forward_train(s, h.get(), in.bias.empty() ? nullptr : bias.get(),
                                             gamma.get(), beta.get(), a.get(), mean.get(),
                                             rstd.get(), rm.get(), rv.get(), nullptr, blocks);
  return {a.download(), mean.download(), rstd.download(), rm.download(), rv.download()};
}

struct Backward {
  std::vector<float> dh, dgamma, dbeta, dbias;  // dbias: empty without a bias
};

Backward cpu_backward(const BatchNormShape& s, const Inputs& in, const Forward& f) {
  Backward b{std::vector<float>(in.h.size()), std::vector<float>(in.gamma.size()),
             std::vector<float>(in.gamma.size()), std::vector<float>(in.bias.size())};
  xent::cpu::batchnorm_act_backward(s, in.h.data(), in.bias_or_null(), f.a.data(), in.gamma.data(),
                                    f.mean.data(), f.rstd.data(), in.da.data(), b.dh.data(),
                                    in.bias.empty() ? nullptr : b.dbias.data(), b.dgamma.data(),
                                    b.dbeta.data());
  return b;
}

Backward kernel_backward(const BatchNormShape& s, const Inputs& in, const Forward& f,
                         BatchNormBlocks blocks = BatchNormBlocks::kAuto) {
  DeviceVector<float> h(in.h), a(f.a), gamma(in.gamma), mean(f.mean), rstd(f.rstd), da(in.da),
      dh(in.h.size()), dgamma(in.gamma.size()), dbeta(in.gamma.size()), bias(in.bias),
      dbias(in.bias.size());
  const bool folded = !in.bias.empty();
  xent::kernels::batchnorm_act_backward(s, h.get(), folded ? bias.get() : nullptr, a.get(),
                                        gamma.get(), mean.get(), rstd.get(), da.get(), dh.get(),
                                        folded ? dbias.get() : nullptr, dgamma.get(), dbeta.get(),
                                        nullptr, blocks);
  return {dh.download(), dgamma.download(), dbeta.download(), dbias.download()};
}

// Per-column sums over rows of |f(k, r, c)|, [K][width], for the GPU bounds.
template <typename F>
std::vector<double> column_abs_sums(const BatchNormShape& s, F f) {
  std::vector<double> out(static_cast<size_t>(s.K) * s.width, 0.0);
  for (int k = 0; k < s.K; ++k)
    for (int64_t r = 0; r < s.rows; ++r)
      for (int c = 0; c < s.width; ++c)
        out[static_cast<size_t>(k) * s.width + c] += std::fabs(f(k, r, c));
  return out;
}

// Every output the same bits.
void expect_equal(const Forward& got, const Forward& want) {
  EXPECT_EQ(got.a, want.a);
  EXPECT_EQ(got.mean, want.mean);
  EXPECT_EQ(got.rstd, want.rstd);
  EXPECT_EQ(got.running_mean, want.running_mean);
  EXPECT_EQ(got.running_var, want.running_var);
}
void expect_equal(const Backward& got, const Backward& want) {
  EXPECT_EQ(got.dh, want.dh);
  EXPECT_EQ(got.dgamma, want.dgamma);
  EXPECT_EQ(got.dbeta, want.dbeta);
  EXPECT_EQ(got.dbias, want.dbias);
}

const char* name(BatchNormBlocks b) {
  return b == BatchNormBlocks::kAuto ? "auto" : b == BatchNormBlocks::kColumns32 ? "32" : "8";
}

void check_train_and_backward(const BatchNormShape& s, uint32_t seed, bool with_bias = true,
                              BatchNormBlocks blocks = BatchNormBlocks::kAuto) {
  SCOPED_TRACE("K=" + std::to_string(s.K) + " rows=" + std::to_string(s.rows) +
               " width=" + std::to_string(s.width) + (with_bias ? " with bias" : " without bias") +
               ", columns per block " + name(blocks));
  const Inputs in = make_inputs(s, seed, with_bias);
  const Forward want = cpu_train(s, in), got = kernel_train(s, in, blocks);
  const int w = s.width;
  const auto col = [w](int k, int c) { return static_cast<size_t>(k) * w + c; };
  const auto elem = [&s, w](int k, int64_t r, int c) {
    return (static_cast<size_t>(k) * s.rows + r) * w + c;
  };
  const double n = static_cast<double>(s.rows);

  // mean: plain float adds in the CPU's order; 4 eps of the column's mean |h| covers the double
  // fold and the final rounding.
  const auto abs_h =
      column_abs_sums(s, [&](int k, int64_t r, int c) { return in.at(s, elem(k, r, c)); });
  std::vector<double> tol_mean(abs_h.size()), tol_rstd(abs_h.size()), tol_rm(abs_h.size()),
      tol_rv(abs_h.size());
  for (size_t i = 0; i < abs_h.size(); ++i) {
    tol_mean[i] = 4 * kFltEps * abs_h[i] / n;
    // The variance sums non-negative squares: a run of 32 with each product rounded once more or
    // less is off by at most 32 eps relative; the square root halves it, plus the rounding.
    tol_rstd[i] = 20 * kFltEps * want.rstd[i];
    tol_rm[i] = 4 * kFltEps * (std::fabs(in.running_mean[i]) + abs_h[i] / n);
    tol_rv[i] = 40 * kFltEps * want.running_var[i];
  }
  expect_close(got.mean, want.mean, tol_mean, "mean");
  expect_close(got.rstd, want.rstd, tol_rstd, "rstd");
  expect_close(got.running_mean, want.running_mean, tol_rm, "running_mean");
  expect_close(got.running_var, want.running_var, tol_rv, "running_var");

  // a = leaky(h * scale + shift): the terms before they cancel, times rstd's 20 eps and the
  // roundings of scale, shift and the affine map.
  std::vector<double> tol_a(in.h.size());
  int positive = 0, negative = 0;
  for (int k = 0; k < s.K; ++k)
    for (int64_t r = 0; r < s.rows; ++r)
      for (int c = 0; c < w; ++c) {
        const double scale = std::fabs(in.gamma[col(k, c)] * want.rstd[col(k, c)]);
        const double terms =
            scale * (std::fabs(in.at(s, elem(k, r, c))) + std::fabs(want.mean[col(k, c)])) +
            std::fabs(in.beta[col(k, c)]);
        tol_a[elem(k, r, c)] = 32 * kFltEps * terms;
        positive += want.a[elem(k, r, c)] > 0.0f;
        negative += want.a[elem(k, r, c)] < 0.0f;
      }
  expect_close(got.a, want.a, tol_a, "a");
  // Both branches of the LeakyReLU, forward and (through a's sign) backward.
  if (s.rows * w >= 8) {
    EXPECT_GT(positive, 0);
    EXPECT_GT(negative, 0);
  }

  // The constant column: zero variance, so rstd is 1 / sqrt(eps) exactly as the CPU rounds it.
  if (w > 1)
    for (int k = 0; k < s.K; ++k) {
      EXPECT_EQ(got.mean[col(k, 1)], 2.5f + static_cast<float>(k));
      EXPECT_EQ(got.rstd[col(k, 1)], static_cast<float>(1.0 / std::sqrt(double{s.eps})));
    }

  // The backward pass from the CPU's forward results, so both sides see the same a, mean, rstd.
  const Backward bwant = cpu_backward(s, in, want), bgot = kernel_backward(s, in, want, blocks);
  const auto dy = [&](int k, int64_t r, int c) {
    const size_t i = elem(k, r, c);
    return static_cast<double>(in.da[i]) * (want.a[i] > 0.0f ? 1.0 : s.slope);
  };
  const auto xhat = [&](int k, int64_t r, int c) {
    return (in.at(s, elem(k, r, c)) - want.mean[col(k, c)]) *
           static_cast<double>(want.rstd[col(k, c)]);
  };
  const auto abs_dy = column_abs_sums(s, dy);
  const auto abs_dyx =
      column_abs_sums(s, [&](int k, int64_t r, int c) { return dy(k, r, c) * xhat(k, r, c); });
  // dgamma, dbeta: sums whose terms cancel; a run of 32 float adds is off by at most 32 eps of
  // the sum of |terms|, and the per-product rounding adds one eps of it.
  std::vector<double> tol_dg(abs_dy.size()), tol_db(abs_dy.size());
  for (size_t i = 0; i < abs_dy.size(); ++i) {
    tol_dg[i] = 34 * kFltEps * abs_dyx[i];
    tol_db[i] = 34 * kFltEps * abs_dy[i];
  }
  expect_close(bgot.dgamma, bwant.dgamma, tol_dg, "dgamma");
  expect_close(bgot.dbeta, bwant.dbeta, tol_db, "dbeta");
  // dh = coef * (dy - mean(dy) - xhat * mean(dy xhat)): the means carry the sums' bounds over
  // n, and the three terms each a few roundings.
  std::vector<double> tol_dh(in.h.size());
  for (int k = 0; k < s.K; ++k)
    for (int64_t r = 0; r < s.rows; ++r)
      for (int c = 0; c < w; ++c) {
        const size_t p = col(k, c);
        const double coef = std::fabs(in.gamma[p] * want.rstd[p]);
        const double x = std::fabs(xhat(k, r, c));
        tol_dh[elem(k, r, c)] = coef * kFltEps *
                                (4 * (std::fabs(dy(k, r, c)) + std::fabs(bwant.dbeta[p]) / n +
                                      x * std::fabs(bwant.dgamma[p]) / n) +
                                 34 * (abs_dy[p] + x * abs_dyx[p]) / n);
      }
  expect_close(bgot.dh, bwant.dh, tol_dh, "dh");

  // dbias = the column sums of dh, in double: the orders differ by at most 2 n DBL_EPSILON of
  // the sum of |dh|, one float rounding of the result, and (on a GPU) the bound on dh of every
  // term.
  if (in.bias.empty()) return;
  for (int k = 0; k < s.K; ++k)
    for (int c = 0; c < w; ++c) {
      double abs_dh = 0.0, dh_bound = 0.0;
      for (int64_t r = 0; r < s.rows; ++r) {
        abs_dh += std::fabs(bwant.dh[elem(k, r, c)]);
        dh_bound += xent::test::kEmulated ? 0.0 : tol_dh[elem(k, r, c)];
      }
      const size_t p = col(k, c);
      ASSERT_LE(
          std::fabs(static_cast<double>(bgot.dbias[p]) - bwant.dbias[p]),
          kFltEps * std::fabs(bwant.dbias[p]) + 2 * n * xent::test::kEpsDouble * abs_dh + dh_bound)
          << "dbias k=" << k << " c=" << c;
    }
}

TEST(BatchNormKernel, TrainAndBackwardMatchCpuOnRaggedShapes) {
  XENT_REQUIRE_DEVICE();
  uint32_t seed = 1;
  // Widths and rows off every multiple of the 32-column tile, the 32-row run and the 1024-row
  // round (1100 rows: two rounds, the second partial); rows 1 (zero variance everywhere, the
  // unbiased variance falls back to the biased). Both block widths (K = 1 and 3 would pick 8).
  for (const BatchNormBlocks blocks : {BatchNormBlocks::kColumns8, BatchNormBlocks::kColumns32})
    for (int K : {1, 3})
      for (const auto& [rows, width] :
           {std::pair<int64_t, int>{1, 1}, {2, 3}, {37, 33}, {300, 70}, {1100, 3}})
        check_train_and_backward(shape(K, rows, width), seed++, true, blocks);
}

// The block width decides only which threads share a block: every output, the bias gradient
// (whose order is the kernel's own, not the CPU's) included, is the same bits for either. On a
// GPU too: both are one template whose every thread runs the same code on the same rows.
TEST(BatchNormKernel, BothBlockWidthsGiveTheSameBits) {
  XENT_REQUIRE_DEVICE();
  for (const BatchNormShape s : {shape(3, 100, 70), shape(2, 1100, 45)}) {  // registers; rounds
    SCOPED_TRACE("rows=" + std::to_string(s.rows));
    const Inputs in = make_inputs(s, 51);
    const Forward f8 = kernel_train(s, in, BatchNormBlocks::kColumns8),
                  f32 = kernel_train(s, in, BatchNormBlocks::kColumns32);
    expect_equal(f8, f32);
    const Backward b8 = kernel_backward(s, in, f32, BatchNormBlocks::kColumns8),
                   b32 = kernel_backward(s, in, f32, BatchNormBlocks::kColumns32);
    expect_equal(b8, b32);
  }
}

TEST(BatchNormKernel, WithoutAFoldedBiasMatchesCpu) {
  XENT_REQUIRE_DEVICE();
  check_train_and_backward(shape(2, 300, 70), 41, false);
}

TEST(BatchNormKernel, TrainAndBackwardMatchCpuAtTheTrainingShape) {
  XENT_REQUIRE_DEVICE();
  // The paper's encoder: batch 1024, hidden width 50.
  check_train_and_backward(shape(1, 1024, 50), 11);
}

TEST(BatchNormKernel, EvalMatchesCpu) {
  XENT_REQUIRE_DEVICE();
  uint32_t seed = 21;
  for (int K : {1, 3})
    for (const auto& [rows, width] : {std::pair<int64_t, int>{1, 1}, {2, 3}, {37, 33}, {300, 70}}) {
      const BatchNormShape s = shape(K, rows, width);
      SCOPED_TRACE("K=" + std::to_string(K) + " rows=" + std::to_string(rows) +
                   " width=" + std::to_string(width));
      const Inputs in = make_inputs(s, seed++);
      std::vector<float> want(in.h.size());
      xent::cpu::batchnorm_act_forward_eval(s, in.h.data(), in.bias_or_null(), in.gamma.data(),
                                            in.beta.data(), in.running_mean.data(),
                                            in.running_var.data(), want.data());
      DeviceVector<float> h(in.h), gamma(in.gamma), beta(in.beta), rm(in.running_mean),
          rv(in.running_var), a(in.h.size()), bias(in.bias);
      xent::kernels::batchnorm_act_forward_eval(s, h.get(), bias.get(), gamma.get(), beta.get(),
                                                rm.get(), rv.get(), a.get(), nullptr);
      // Element-wise: scale and shift round alike; a few eps of the terms before they cancel.
      std::vector<double> tol(in.h.size());
      for (int k = 0; k < K; ++k)
        for (int64_t r = 0; r < rows; ++r)
          for (int c = 0; c < width; ++c) {
            const size_t p = static_cast<size_t>(k) * width + c;
            const size_t i = (static_cast<size_t>(k) * rows + r) * width + c;
            const double scale = std::fabs(in.gamma[p]) / std::sqrt(in.running_var[p] + s.eps);
            tol[i] = 8 * kFltEps *
                     (scale * (std::fabs(in.at(s, i)) + std::fabs(in.running_mean[p])) +
                      std::fabs(in.beta[p]));
          }
      expect_close(a.download(), want, tol, "a");
    }
}

#if defined(XENT_EMULATED)
// Warps racing ahead of each other (greedy, reversed, random orders) must not change a bit: a
// missing barrier between a round's partial sums and their fold would, and so would one
// between the warps' bias-gradient sums and theirs (compared with the lockstep kernel's).
TEST(BatchNormKernel, ResultsDoNotDependOnTheSchedule) {
  XENT_REQUIRE_DEVICE();
  using xent::simt::Schedule;
  // Three rounds of runs per column; one round held in registers (a ragged last run).
  for (const BatchNormShape s : {shape(3, 2100, 33), shape(2, 1000, 33)}) {
    SCOPED_TRACE("rows=" + std::to_string(s.rows));
    const Inputs in = make_inputs(s, 31);
    const Forward want = cpu_train(s, in);
    const Backward bwant = cpu_backward(s, in, want), lockstep = kernel_backward(s, in, want);
    for (const xent::simt::ScheduleSpec spec : {xent::simt::ScheduleSpec{Schedule::kGreedy, 0},
                                                {Schedule::kReversed, 0},
                                                {Schedule::kRandom, 7}})
      for (const BatchNormBlocks blocks :
           {BatchNormBlocks::kColumns8, BatchNormBlocks::kColumns32}) {
        SCOPED_TRACE(xent::simt::to_string(spec) + ", columns per block " + name(blocks));
        xent::simt::ScopedSchedule order(spec);
        const Forward got = kernel_train(s, in, blocks);
        const Backward bgot = kernel_backward(s, in, want, blocks);
        expect_equal(got, want);
        // The bias gradient is the kernel's own order (the lockstep run's), the rest the CPU's.
        expect_equal(bgot, Backward{bwant.dh, bwant.dgamma, bwant.dbeta, lockstep.dbias});
      }
  }
}
#endif

}  // namespace
