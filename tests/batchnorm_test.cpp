#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops.h"
#include "grad_check.h"

namespace xent {
namespace {

constexpr double kEps = 1e-5, kSlope = 0.01;

// The training-mode forward in double: the oracle.
std::vector<double> bn_act(const std::vector<double>& h, const std::vector<double>& gamma,
                           const std::vector<double>& beta, int rows, int w) {
  std::vector<double> out(h.size());
  for (int c = 0; c < w; ++c) {
    double m = 0, v = 0;
    for (int r = 0; r < rows; ++r) m += h[r * w + c];
    m /= rows;
    for (int r = 0; r < rows; ++r) v += (h[r * w + c] - m) * (h[r * w + c] - m);
    v /= rows;
    for (int r = 0; r < rows; ++r) {
      const double y = gamma[c] * (h[r * w + c] - m) / std::sqrt(v + kEps) + beta[c];
      out[r * w + c] = y > 0 ? y : kSlope * y;
    }
  }
  return out;
}

std::vector<double> wave(size_t n, double f, double a, double off = 0) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = off + a * std::sin(f * static_cast<double>(i) + 0.1);
  return v;
}

TEST(BatchNorm, ForwardNormalisesAndUpdatesRunningStats) {
  const int rows = 6, w = 3;
  const auto h = wave(rows * w, 0.77, 2.0, 1.5);
  const std::vector<double> gamma = {1, 1, 1}, beta = {0, 0, 0};
  const auto ref = bn_act(h, gamma, beta, rows, w);
  auto hf = test::to_float(h), gf = test::to_float(gamma), bf = test::to_float(beta);
  std::vector<float> a(h.size()), mean(w), rstd(w), rm(w, 0.0f), rv(w, 1.0f);
  const BatchNormShape s{1, rows, w, static_cast<float>(kEps), 0.1f, static_cast<float>(kSlope)};
  cpu::batchnorm_act_forward_train(s, hf.data(), nullptr, gf.data(), bf.data(), a.data(),
                                   mean.data(), rstd.data(), rm.data(), rv.data());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], ref[i], 1e-5) << i;  // float of O(1)
  for (int c = 0; c < w; ++c) {
    double m = 0, v = 0;
    for (int r = 0; r < rows; ++r) m += hf[r * w + c];
    m /= rows;
    for (int r = 0; r < rows; ++r) v += (hf[r * w + c] - m) * (hf[r * w + c] - m);
    // PyTorch: running stats move 10% towards the batch mean and the UNBIASED variance.
    EXPECT_NEAR(rm[c], 0.1 * m, 1e-6);
    EXPECT_NEAR(rv[c], 0.9 + 0.1 * v / (rows - 1), 1e-6);
  }
  // Evaluation with running stats equal to the batch's biased stats reproduces training mode.
  std::vector<float> em(w), ev(w), ea(h.size());
  for (int c = 0; c < w; ++c) {
    em[c] = mean[c];
    ev[c] = 1.0f / (rstd[c] * rstd[c]) - static_cast<float>(kEps);
  }
  cpu::batchnorm_act_forward_eval(s, hf.data(), nullptr, gf.data(), bf.data(), em.data(), ev.data(),
                                  ea.data());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(ea[i], a[i], 1e-5) << i;
}

TEST(BatchNorm, BackwardMatchesFiniteDifferences) {
  const int rows = 7, w = 4;
  const auto h = wave(rows * w, 0.61, 1.5, 0.2);
  const auto gamma = wave(w, 1.9, 0.5, 1.0), beta = wave(w, 2.3, 0.3);
  const auto c = wave(rows * w, 1.13, 1.0);  // dL/da
  auto loss = [&](const std::vector<double>& hv, const std::vector<double>& gv,
                  const std::vector<double>& bv) {
    const auto a = bn_act(hv, gv, bv, rows, w);
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * c[i];
    return s;
  };
  const auto nh = test::numeric_grad([&](const auto& v) { return loss(v, gamma, beta); }, h);
  const auto ng = test::numeric_grad([&](const auto& v) { return loss(h, v, beta); }, gamma);
  const auto nb = test::numeric_grad([&](const auto& v) { return loss(h, gamma, v); }, beta);
  auto hf = test::to_float(h), gf = test::to_float(gamma), bf = test::to_float(beta),
       cf = test::to_float(c);
  std::vector<float> a(h.size()), mean(w), rstd(w), rm(w, 0), rv(w, 1), dh(h.size()), dg(w), db(w);
  const BatchNormShape s{1, rows, w, static_cast<float>(kEps), 0.1f, static_cast<float>(kSlope)};
  cpu::batchnorm_act_forward_train(s, hf.data(), nullptr, gf.data(), bf.data(), a.data(),
                                   mean.data(), rstd.data(), rm.data(), rv.data());
  cpu::batchnorm_act_backward(s, hf.data(), nullptr, a.data(), gf.data(), mean.data(), rstd.data(),
                              cf.data(), dh.data(), nullptr, dg.data(), db.data());
  // Central differences (h = 1e-5) have O(h^2) ~ 1e-10 truncation except across the
  // activation's kink, which no sample here sits within 1e-5 of; the float op is good to
  // ~1e-6 on these O(1) gradients.
  for (size_t i = 0; i < dh.size(); ++i) EXPECT_NEAR(dh[i], nh[i], 2e-5) << i;
  for (int i = 0; i < w; ++i) EXPECT_NEAR(dg[i], ng[i], 2e-5) << i;
  for (int i = 0; i < w; ++i) EXPECT_NEAR(db[i], nb[i], 2e-5) << i;
}

// The linear layer's bias folded into the op gives the bits of adding it first (what
// linear_forward with the bias did): every output of the three ops, and a bias gradient equal
// to linear_backward's db of the same dh.
TEST(BatchNorm, AFoldedBiasGivesTheBitsOfAddingItFirst) {
  const int K = 2, rows = 70, w = 11;  // rows: two 32-row blocks and a ragged one
  const BatchNormShape s{K, rows, w, static_cast<float>(kEps), 0.1f, static_cast<float>(kSlope)};
  const size_t n = size_t{K} * rows * w, kw = size_t{K} * w;
  const auto y = test::to_float(wave(n, 0.37, 1.2, -0.3)), bias = test::to_float(wave(kw, 1.7, 2));
  const auto gamma = test::to_float(wave(kw, 0.9, 0.4, 1)), beta = test::to_float(wave(kw, 2.9, 1));
  const auto da = test::to_float(wave(n, 1.31, 1));
  std::vector<float> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = y[i] + bias[(i / (size_t{rows} * w)) * w + i % w];
  struct Out {
    std::vector<float> a, mean, rstd, rm, rv, eval, dh, dg, db, dbias;
  };
  const auto run = [&](const float* in, const float* b) {
    Out o{std::vector<float>(n),        std::vector<float>(kw),       std::vector<float>(kw),
          std::vector<float>(kw, 0.5f), std::vector<float>(kw, 2.0f), std::vector<float>(n),
          std::vector<float>(n),        std::vector<float>(kw),       std::vector<float>(kw),
          std::vector<float>(kw)};
    cpu::batchnorm_act_forward_train(s, in, b, gamma.data(), beta.data(), o.a.data(), o.mean.data(),
                                     o.rstd.data(), o.rm.data(), o.rv.data());
    cpu::batchnorm_act_forward_eval(s, in, b, gamma.data(), beta.data(), o.rm.data(), o.rv.data(),
                                    o.eval.data());
    cpu::batchnorm_act_backward(s, in, b, o.a.data(), gamma.data(), o.mean.data(), o.rstd.data(),
                                da.data(), o.dh.data(), b ? o.dbias.data() : nullptr, o.dg.data(),
                                o.db.data());
    return o;
  };
  const Out folded = run(y.data(), bias.data()), added = run(h.data(), nullptr);
  EXPECT_EQ(folded.a, added.a);
  EXPECT_EQ(folded.mean, added.mean);
  EXPECT_EQ(folded.rstd, added.rstd);
  EXPECT_EQ(folded.rm, added.rm);
  EXPECT_EQ(folded.rv, added.rv);
  EXPECT_EQ(folded.eval, added.eval);
  EXPECT_EQ(folded.dh, added.dh);
  EXPECT_EQ(folded.dg, added.dg);
  EXPECT_EQ(folded.db, added.db);
  // The linear layer's db of this dh (its x and W play no part in db).
  std::vector<float> x(size_t{K} * rows), wt(kw), dw(kw), want(kw);
  cpu::linear_backward({K, rows, 1, w}, x.data(), wt.data(), added.dh.data(), nullptr, dw.data(),
                       want.data());
  EXPECT_EQ(folded.dbias, want);
}

}  // namespace
}  // namespace xent
