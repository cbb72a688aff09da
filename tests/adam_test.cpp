#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/ops.h"

namespace xent {
namespace {

TEST(Adam, FirstStepMovesEachParameterByLr) {
  // At step 1 the bias-corrected m/sqrt(v) is g/|g| = sign(g): every parameter moves by lr
  // (up to eps), whatever the gradient's size. Hand-computed: 1.0 - 1e-3 * 0.5/(0.5+1e-8).
  std::vector<float> p = {1.0f, -2.0f, 0.0f}, g = {0.5f, -3.0f, 0.0f}, m(3, 0), v(3, 0);
  AdamParams a;
  cpu::adam(3, p.data(), g.data(), m.data(), v.data(), a, nullptr);
  EXPECT_NEAR(p[0], 1.0 - 1e-3, 1e-7);  // float spacing near 1 is 6e-8
  EXPECT_NEAR(p[1], -2.0 + 1e-3, 2e-7);
  EXPECT_EQ(p[2], 0.0f);  // zero gradient: m = 0, no motion
  // m = (1 - beta1) g and v = (1 - beta2) g^2, with 1 - beta in float as the op computes it.
  EXPECT_EQ(m[0], (1.0f - 0.9f) * 0.5f);
  EXPECT_EQ(v[1], (1.0f - 0.999f) * 9.0f);
}

TEST(Adam, SecondStepMatchesHandComputedValues) {
  std::vector<float> p = {1.0f}, m = {0.0f}, v = {0.0f};
  AdamParams a;
  a.lr = 0.1f;
  const float g1 = 0.2f, g2 = -0.4f;
  cpu::adam(1, p.data(), &g1, m.data(), v.data(), a, nullptr);
  a.step = 2;
  cpu::adam(1, p.data(), &g2, m.data(), v.data(), a, nullptr);
  // By hand, in double: m2 = 0.9*0.02 + 0.1*(-0.4) = -0.022; v2 = 0.999*4e-5 + 0.001*0.16
  // = 1.9996e-4; m_hat = -0.022/0.19 ; v_hat = 1.9996e-4/1.999e-3; p = 0.9 - 0.1 *
  // m_hat/(sqrt(v_hat)+1e-8).
  const double mh = -0.022 / (1 - 0.81), vh = 1.9996e-4 / (1 - 0.998001);
  const double expect = 0.9 - 0.1 * mh / (std::sqrt(vh) + 1e-8);
  EXPECT_NEAR(p[0], expect, 1e-5);  // float 1 - beta2 is off by 1.3e-5 relative; the step is 0.1
}

}  // namespace
}  // namespace xent
