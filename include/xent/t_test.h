// The probe's summary statistics: mean +- SEM over repeats, and the one-sample t-test of the
// figure's stars (scipy.stats.ttest_1samp, two-sided).
#pragma once
#include <utility>
#include <vector>

namespace xent {

// Mean and standard error of the mean (ddof 1, as scipy.stats.sem); SEM 0 for one value.
std::pair<double, double> mean_sem(const std::vector<double>& v);

// P(|T| >= |t|) for Student's t with `dof` degrees of freedom: I_{dof / (dof + t^2)}(dof / 2,
// 1 / 2), the regularised incomplete beta function by its continued fraction.
double student_t_two_sided(double t, double dof);

// The two-sided p-value of the test of mean(v) = mu: t = (mean - mu) / (s / sqrt(n)), s with
// ddof 1. NaN for fewer than 2 values or values that are all equal.
double t_test_p(const std::vector<double>& v, double mu);

}  // namespace xent
