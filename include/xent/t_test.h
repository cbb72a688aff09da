// The one-sample t-test of the probe figure's stars (scipy.stats.ttest_1samp, two-sided).
#pragma once
#include <vector>

namespace xent {

// P(|T| >= |t|) for Student's t with `dof` degrees of freedom: I_{dof / (dof + t^2)}(dof / 2,
// 1 / 2), the regularised incomplete beta function by its continued fraction.
double student_t_two_sided(double t, double dof);

// The two-sided p-value of the test of mean(v) = mu: t = (mean - mu) / (s / sqrt(n)), s with
// ddof 1. NaN for fewer than 2 values or values that are all equal.
double t_test_p(const std::vector<double>& v, double mu);

}  // namespace xent
