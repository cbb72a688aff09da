#include "xent/t_test.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace xent {
namespace {

// The continued fraction of I_x(a, b) (modified Lentz), which converges fast for
// x < (a + 1) / (a + b + 2); the caller uses the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) beyond.
double beta_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300, kEps = 1e-15;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 500; ++m) {
    // The even and the odd term of the fraction.
    for (const double coef : {m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m)),
                              -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))}) {
      d = 1.0 + coef * d;
      if (std::fabs(d) < kTiny) d = kTiny;
      c = 1.0 + coef / c;
      if (std::fabs(c) < kTiny) c = kTiny;
      d = 1.0 / d;
      h *= d * c;
      if (coef < 0 && std::fabs(d * c - 1.0) < kEps) return h;
    }
  }
  return h;
}

double incomplete_beta(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double front = std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                                a * std::log(x) + b * std::log1p(-x));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * beta_fraction(a, b, x) / a;
  return 1.0 - front * beta_fraction(b, a, 1.0 - x) / b;
}

}  // namespace

std::pair<double, double> mean_sem(const std::vector<double>& v) {
  double m = 0.0;
  for (const double x : v) m += x;
  m /= static_cast<double>(v.size());
  if (v.size() < 2) return {m, 0.0};
  double ss = 0.0;
  for (const double x : v) ss += (x - m) * (x - m);
  return {m, std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()))};
}

double student_t_two_sided(double t, double dof) {
  if (std::isnan(t) || !(dof > 0)) return std::numeric_limits<double>::quiet_NaN();
  if (std::isinf(t)) return 0.0;
  return incomplete_beta(dof / 2.0, 0.5, dof / (dof + t * t));
}

double t_test_p(const std::vector<double>& v, double mu) {
  // Equal values have no spread (their computed one would be rounding).
  if (v.size() < 2 || std::adjacent_find(v.begin(), v.end(), std::not_equal_to<>()) == v.end())
    return std::numeric_limits<double>::quiet_NaN();
  const auto [mean, sem] = mean_sem(v);
  return student_t_two_sided((mean - mu) / sem, static_cast<double>(v.size()) - 1.0);
}

}  // namespace xent
