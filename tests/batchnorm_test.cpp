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
  cpu::batchnorm_act_forward_train(s, hf.data(), gf.data(), bf.data(), a.data(), mean.data(),
                                   rstd.data(), rm.data(), rv.data());
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
  cpu::batchnorm_act_forward_eval(s, hf.data(), gf.data(), bf.data(), em.data(), ev.data(),
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
  cpu::batchnorm_act_forward_train(s, hf.data(), gf.data(), bf.data(), a.data(), mean.data(),
                                   rstd.data(), rm.data(), rv.data());
  cpu::batchnorm_act_backward(s, hf.data(), a.data(), gf.data(), mean.data(), rstd.data(),
                              cf.data(), dh.data(), dg.data(), db.data());
  // Central differences (h = 1e-5) have O(h^2) ~ 1e-10 truncation except across the
  // activation's kink, which no sample here sits within 1e-5 of; the float op is good to
  // ~1e-6 on these O(1) gradients.
  for (size_t i = 0; i < dh.size(); ++i) EXPECT_NEAR(dh[i], nh[i], 2e-5) << i;
  for (int i = 0; i < w; ++i) EXPECT_NEAR(dg[i], ng[i], 2e-5) << i;
  for (int i = 0; i < w; ++i) EXPECT_NEAR(db[i], nb[i], 2e-5) << i;
}

}  // namespace
}  // namespace xent
