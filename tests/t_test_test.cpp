// Student's t tail and the one-sample t-test against scipy.stats (values printed by scipy 1.x:
// 2 * stats.t.sf(|t|, dof) and stats.ttest_1samp(v, mu).pvalue).
#include "xent/t_test.h"

#include <gtest/gtest.h>

#include <cmath>

namespace xent {
namespace {

TEST(TTest, TailMatchesScipy) {
  // The continued fraction stops at a relative change of 1e-15 and lgamma is good to a few
  // ulps: 1e-12 relative leaves room for both.
  const struct {
    double t, dof, p;
  } cases[] = {{2.262157, 9, 0.0500000133044316},
               {1, 1, 0.49999999999999956},
               {0, 5, 1.0},
               {3.5, 4, 0.02489616346022275},
               {10, 9, 3.57823743192474e-06},
               {0.3, 100, 0.7647998803003035},
               {-2.5, 30, 0.018115649068066706}};
  for (const auto& c : cases)
    EXPECT_NEAR(student_t_two_sided(c.t, c.dof), c.p, 1e-12 * c.p) << c.t << ", " << c.dof;
  EXPECT_EQ(student_t_two_sided(INFINITY, 3), 0.0);
  EXPECT_TRUE(std::isnan(student_t_two_sided(1.0, 0.0)));
}

TEST(TTest, OneSampleMatchesScipy) {
  EXPECT_NEAR(t_test_p({0.52, 0.55, 0.49, 0.61, 0.58}, 0.5), 0.07791562124471572, 1e-12);
  // scipy.stats.sem([0.52, 0.55, 0.49, 0.61, 0.58]) = 0.02121320343559642.
  const auto [mean, sem] = mean_sem({0.52, 0.55, 0.49, 0.61, 0.58});
  EXPECT_NEAR(mean, 0.55, 1e-15);
  EXPECT_NEAR(sem, 0.02121320343559642, 1e-15);
  EXPECT_EQ(mean_sem({0.7}).second, 0.0);
  EXPECT_TRUE(std::isnan(t_test_p({0.7}, 0.5)));            // one value: no spread
  EXPECT_TRUE(std::isnan(t_test_p({0.7, 0.7, 0.7}, 0.5)));  // no spread
}

}  // namespace
}  // namespace xent
