// Cluster centres and latent samples (host/dgp/centres.cpp, host/cpu/sample_latents.cpp) against
// closed forms, independent Monte Carlo and the stream scheme of dgp.h.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "dgp/internal.h"
#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/philox.h"

namespace {

using xent::CentreDist;
using xent::Conditional;
using xent::DgpParams;
using xent::LabelMode;
using xent::RngPurpose;

struct Batch {
  std::vector<float> z;
  std::vector<int32_t> labels, cluster;
};

Batch sample(const DgpParams& p, const std::vector<float>& centres, uint64_t seed, int64_t n,
             uint64_t first = 0, RngPurpose purpose = RngPurpose::Train) {
  Batch b;
  b.z.resize(static_cast<size_t>(n) * static_cast<size_t>(p.d));
  b.labels.resize(static_cast<size_t>(n));
  b.cluster.resize(static_cast<size_t>(n));
  xent::sample_latents(p, centres.data(), seed, purpose, first, n, b.z.data(), b.labels.data(),
                       b.cluster.data());
  return b;
}

double dot(const float* a, const float* b, int d) {
  double s = 0.0;
  for (int i = 0; i < d; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}

// Mean and standard error of a sample.
struct Stats {
  double mean = 0.0, se = 0.0;
};
Stats stats(const std::vector<double>& x) {
  double s1 = 0.0, s2 = 0.0;
  for (double v : x) s1 += v;
  const double n = static_cast<double>(x.size());
  const double m = s1 / n;
  for (double v : x) s2 += (v - m) * (v - m);
  return {m, std::sqrt(s2 / (n - 1.0) / n)};
}

// Each coordinate is rounded to float after normalising in double: |z| is within 2^-24 of 1
// (plus double error); 1e-6 is 16 times that and far below any real normalisation bug.
constexpr double kUnitNormTol = 1e-6;

TEST(Latents, UnitNormForEveryProjectedConditionalAndDimension) {
  for (Conditional cond : {Conditional::VonMisesFisher, Conditional::Laplace, Conditional::Normal,
                           Conditional::GeneralizedNormal}) {
    for (int d : {2, 3, 5, 20}) {
      DgpParams p;
      p.d = d;
      p.clusters = 7;
      p.conditional = cond;
      const auto centres = xent::draw_centres(p, 1);
      for (int c = 0; c < p.clusters; ++c) {
        EXPECT_NEAR(std::sqrt(dot(&centres[c * d], &centres[c * d], d)), 1.0, kUnitNormTol);
      }
      const Batch b = sample(p, centres, 2, 2000);
      for (int64_t j = 0; j < 2000; ++j) {
        const float* zj = &b.z[static_cast<size_t>(j * d)];
        ASSERT_NEAR(std::sqrt(dot(zj, zj, d)), 1.0, kUnitNormTol)
            << "d " << d << " conditional " << static_cast<int>(cond) << " sample " << j;
      }
    }
  }
}

// vMF(mu, kappa) on S^(d-1): E[mu.z] = A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa),
// E[(mu.z)^2] = 1 - (d-1) A_d / kappa, and E[z] = A_d mu (the orthogonal part averages out).
TEST(Latents, VonMisesFisherMomentsMatchBesselClosedForm) {
  constexpr int64_t kN = 20000;
  for (int d : {2, 3, 5, 10, 20}) {
    for (double kappa : {1.0, 5.0, 10.0, 50.0}) {
      SCOPED_TRACE(testing::Message() << "d " << d << " kappa " << kappa);
      DgpParams p;
      p.d = d;
      p.clusters = 1;
      p.kappa = kappa;
      // A random mean direction, so that nothing relies on mu = e1.
      const auto mu = xent::draw_centres(p, 100u + static_cast<uint64_t>(d));
      const Batch b = sample(p, mu, 7, kN);
      std::vector<double> w(kN), w2(kN);
      std::vector<std::vector<double>> coord(static_cast<size_t>(d), std::vector<double>(kN));
      for (int64_t j = 0; j < kN; ++j) {
        const float* zj = &b.z[static_cast<size_t>(j * d)];
        w[j] = dot(zj, mu.data(), d);
        w2[j] = w[j] * w[j];
        for (int i = 0; i < d; ++i) coord[i][j] = static_cast<double>(zj[i]);
      }
      const double nu = 0.5 * d;
      const double a_d = std::cyl_bessel_i(nu, kappa) / std::cyl_bessel_i(nu - 1.0, kappa);
      // 5 standard errors from the sample's own variance: a correct sampler fails one of these
      // ~100 checks with probability ~1e-4 (and the seeds are fixed).
      const Stats sw = stats(w), sw2 = stats(w2);
      EXPECT_NEAR(sw.mean, a_d, 5.0 * sw.se);
      EXPECT_NEAR(sw2.mean, 1.0 - (d - 1) * a_d / kappa, 5.0 * sw2.se);
      for (int i = 0; i < d; ++i) {
        const Stats si = stats(coord[i]);
        EXPECT_NEAR(si.mean, a_d * static_cast<double>(mu[i]), 5.0 * si.se) << "coordinate " << i;
      }
    }
  }
}

// The Laplace / Normal conditionals are normalise(mu + (kappa/10) noise). An independent Monte
// Carlo with the standard library's generators gives E[mu.z]; both estimates have their own
// standard error and must agree within 5 combined SE.
TEST(Latents, LaplaceAndNormalConditionalsMatchIndependentMonteCarlo) {
  constexpr int64_t kN = 40000;
  const int d = 5;
  for (Conditional cond : {Conditional::Laplace, Conditional::Normal}) {
    double previous = 2.0;
    for (double kappa : {5.0, 10.0, 50.0}) {
      SCOPED_TRACE(testing::Message()
                   << "conditional " << static_cast<int>(cond) << " kappa " << kappa);
      DgpParams p;
      p.d = d;
      p.clusters = 1;
      p.kappa = kappa;
      p.conditional = cond;
      const auto mu = xent::draw_centres(p, 5);
      const Batch b = sample(p, mu, 11, kN);
      std::vector<double> w(kN);
      for (int64_t j = 0; j < kN; ++j) w[j] = dot(&b.z[static_cast<size_t>(j * d)], mu.data(), d);
      const Stats mine = stats(w);

      std::mt19937_64 gen(12345);
      std::normal_distribution<double> normal;
      std::exponential_distribution<double> expo;
      std::vector<double> ref(kN);
      for (int64_t j = 0; j < kN; ++j) {
        double x[d], ss = 0.0, proj = 0.0;
        for (int i = 0; i < d; ++i) {
          const double noise =
              cond == Conditional::Normal ? normal(gen) : expo(gen) - expo(gen);  // Laplace(0,1)
          x[i] = static_cast<double>(mu[i]) + kappa / 10.0 * noise;
          ss += x[i] * x[i];
          proj += x[i] * static_cast<double>(mu[i]);
        }
        ref[j] = proj / std::sqrt(ss);
      }
      const Stats r = stats(ref);
      EXPECT_NEAR(mine.mean, r.mean, 5.0 * std::hypot(mine.se, r.se));
      // Larger kappa means more noise here (scale kappa/10), as in the reference code.
      EXPECT_LT(mine.mean, previous);
      previous = mine.mean;
    }
  }
}

// Pearson chi-square against uniform counts over `bins`: the statistic has mean bins-1 and
// standard deviation sqrt(2 (bins-1)); mean + 6 sd is exceeded with probability < 1e-4.
void expect_uniform(const std::vector<int32_t>& labels, int64_t bins) {
  std::vector<int64_t> count(static_cast<size_t>(bins), 0);
  for (int32_t l : labels) {
    ASSERT_GE(l, 0);
    ASSERT_LT(l, bins);
    ++count[static_cast<size_t>(l)];
  }
  const double expected = static_cast<double>(labels.size()) / static_cast<double>(bins);
  double chi2 = 0.0;
  for (int64_t c : count) {
    chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  }
  const double dof = static_cast<double>(bins - 1);
  EXPECT_LT(chi2, dof + 6.0 * std::sqrt(2.0 * dof));
  // Every bin is hit, including the last one that the (u32 * M) >> 32 map can reach.
  EXPECT_GT(count.back(), 0);
  EXPECT_GT(count.front(), 0);
}

TEST(Latents, SupervisedLabelsAreClustersAndUniform) {
  DgpParams p;
  p.clusters = 10;
  const auto centres = xent::draw_centres(p, 3);
  const Batch b = sample(p, centres, 4, 100000);
  expect_uniform(b.labels, p.clusters);
  EXPECT_EQ(b.labels, b.cluster);
}

TEST(Latents, DietLabelsAreInstancesAndClusterIsLabelModClusters) {
  DgpParams p;
  p.clusters = 100;
  p.labels = LabelMode::Diet;
  p.instances = 1000;
  EXPECT_EQ(p.classes(), 1000);
  const auto centres = xent::draw_centres(p, 3);
  const Batch b = sample(p, centres, 4, 200000);
  expect_uniform(b.labels, p.instances);
  for (size_t j = 0; j < b.labels.size(); ++j) {
    ASSERT_EQ(b.cluster[j], b.labels[j] % p.clusters) << "sample " << j;
  }
}

// The sample's latent is drawn around its own cluster's centre: with kappa = 50 in d = 5,
// E[mu.z] = A_5(50) = 0.96, while a different random centre is nowhere near that on average.
TEST(Latents, SamplesConcentrateAroundTheirClusterCentre) {
  DgpParams p;
  p.clusters = 20;
  p.kappa = 50.0;
  p.labels = LabelMode::Diet;
  p.instances = 60;
  const auto centres = xent::draw_centres(p, 8);
  const Batch b = sample(p, centres, 9, 5000);
  double own = 0.0, other = 0.0;
  for (size_t j = 0; j < b.labels.size(); ++j) {
    const float* zj = &b.z[j * 5];
    own += dot(zj, &centres[static_cast<size_t>(b.cluster[j]) * 5], 5);
    other += dot(zj, &centres[static_cast<size_t>((b.cluster[j] + 1) % p.clusters) * 5], 5);
  }
  EXPECT_GT(own / 5000.0, 0.9);
  EXPECT_LT(other / 5000.0, 0.5);
}

TEST(Latents, SameSeedSameBitsDifferentSeedOrPurposeDifferent) {
  for (Conditional cond :
       {Conditional::VonMisesFisher, Conditional::Laplace, Conditional::Normal}) {
    DgpParams p;
    p.conditional = cond;
    p.labels = LabelMode::Diet;
    const auto centres = xent::draw_centres(p, 21);
    EXPECT_EQ(centres, xent::draw_centres(p, 21));
    EXPECT_NE(centres, xent::draw_centres(p, 22));
    const Batch a = sample(p, centres, 5, 500);
    const Batch again = sample(p, centres, 5, 500);
    EXPECT_EQ(0, std::memcmp(a.z.data(), again.z.data(), a.z.size() * sizeof(float)));
    EXPECT_EQ(a.labels, again.labels);
    EXPECT_EQ(a.cluster, again.cluster);
    const Batch other_seed = sample(p, centres, 6, 500);
    const Batch other_purpose = sample(p, centres, 5, 500, 0, RngPurpose::Eval);
    int same_seed_coords = 0, same_purpose_coords = 0;
    for (size_t i = 0; i < a.z.size(); ++i) {
      same_seed_coords += a.z[i] == other_seed.z[i] ? 1 : 0;
      same_purpose_coords += a.z[i] == other_purpose.z[i] ? 1 : 0;
    }
    // Independent continuous draws coincide in float only by accident.
    EXPECT_LT(same_seed_coords, 5);
    EXPECT_LT(same_purpose_coords, 5);
  }
}

TEST(Latents, SampleJOfBatchEqualsFirstSampleOfShiftedBatch) {
  for (Conditional cond :
       {Conditional::VonMisesFisher, Conditional::Laplace, Conditional::Normal}) {
    DgpParams p;
    p.d = 3;
    p.conditional = cond;
    p.labels = LabelMode::Diet;
    const auto centres = xent::draw_centres(p, 1);
    const uint64_t first = 1000003;
    const Batch batch = sample(p, centres, 77, 40, first);
    for (int64_t j = 0; j < 40; ++j) {
      const Batch one = sample(p, centres, 77, 1, first + static_cast<uint64_t>(j));
      ASSERT_EQ(0,
                std::memcmp(one.z.data(), &batch.z[static_cast<size_t>(j * 3)], 3 * sizeof(float)))
          << "sample " << j;
      ASSERT_EQ(one.labels[0], batch.labels[static_cast<size_t>(j)]);
      ASSERT_EQ(one.cluster[0], batch.cluster[static_cast<size_t>(j)]);
    }
  }
}

TEST(Latents, ClusterOutputIsOptional) {
  DgpParams p;
  const auto centres = xent::draw_centres(p, 1);
  const Batch b = sample(p, centres, 2, 10);
  std::vector<float> z(b.z.size());
  std::vector<int32_t> labels(10);
  xent::sample_latents(p, centres.data(), 2, RngPurpose::Train, 0, 10, z.data(), labels.data(),
                       nullptr);
  EXPECT_EQ(z, b.z);
  EXPECT_EQ(labels, b.labels);
}

// Laplace / Normal centres are e1 + noise projected onto the sphere, so their first coordinate
// averages well above 0 (0.34 for Laplace, 0.41 for Normal at scale 1 in d = 5, each with a
// standard error under 0.01; the bound 0.25 is over 9 SE below), while uniform centres average 0
// with standard error 1/sqrt(d * clusters) = 0.007 per coordinate.
TEST(Latents, CentreDistributionsConcentrateAroundE1OnlyWhenAsked) {
  const int d = 5, clusters = 4000;
  for (CentreDist dist : {CentreDist::Uniform, CentreDist::Laplace, CentreDist::Normal}) {
    SCOPED_TRACE(testing::Message() << "centres " << static_cast<int>(dist));
    DgpParams p;
    p.d = d;
    p.clusters = clusters;
    p.centres = dist;
    const auto c = xent::draw_centres(p, 31);
    std::vector<double> mean(d, 0.0);
    for (int k = 0; k < clusters; ++k) {
      EXPECT_NEAR(std::sqrt(dot(&c[k * d], &c[k * d], d)), 1.0, kUnitNormTol);
      for (int i = 0; i < d; ++i) mean[i] += static_cast<double>(c[k * d + i]) / clusters;
    }
    const double se = 1.0 / std::sqrt(static_cast<double>(d * clusters));
    if (dist == CentreDist::Uniform) {
      for (int i = 0; i < d; ++i) EXPECT_NEAR(mean[i], 0.0, 5.0 * se) << "coordinate " << i;
    } else {
      EXPECT_GT(mean[0], 0.25);
      // The other coordinates are symmetric about 0.
      for (int i = 1; i < d; ++i) EXPECT_NEAR(mean[i], 0.0, 5.0 * se) << "coordinate " << i;
    }
  }
  // A larger scale spreads the centres further from e1.
  DgpParams narrow, wide;
  narrow.centres = wide.centres = CentreDist::Normal;
  narrow.clusters = wide.clusters = clusters;
  narrow.centre_scale = 0.3;
  wide.centre_scale = 3.0;
  const auto cn = xent::draw_centres(narrow, 4), cw = xent::draw_centres(wide, 4);
  double mn = 0.0, mw = 0.0;
  for (int k = 0; k < clusters; ++k) {
    mn += static_cast<double>(cn[k * 5]);
    mw += static_cast<double>(cw[k * 5]);
  }
  EXPECT_GT(mn, mw + 0.2 * clusters);
}

TEST(Latents, RejectsNonsenseParameters) {
  const std::vector<float> centres(100 * 20, 0.5f);
  float z[40];
  int32_t labels[2];
  auto draw = [&](const DgpParams& p) { return xent::draw_centres(p, 1); };
  auto run = [&](const DgpParams& p, int64_t n) {
    xent::sample_latents(p, centres.data(), 1, RngPurpose::Train, 0, n, z, labels, nullptr);
  };
  DgpParams p;
  p.d = 1;
  EXPECT_THROW(draw(p), xent::InputError);
  EXPECT_THROW(run(p, 2), xent::InputError);
  p = DgpParams{};
  p.kappa = 0.0;
  EXPECT_THROW(run(p, 2), xent::InputError);
  p.kappa = -1.0;
  EXPECT_THROW(run(p, 2), xent::InputError);
  p.kappa = std::nan("");
  EXPECT_THROW(run(p, 2), xent::InputError);
  p = DgpParams{};
  p.clusters = 0;
  EXPECT_THROW(draw(p), xent::InputError);
  p = DgpParams{};
  p.instances = 0;
  EXPECT_THROW(run(p, 2), xent::InputError);
  p = DgpParams{};
  p.centre_scale = -1.0;
  EXPECT_THROW(draw(p), xent::InputError);
  p = DgpParams{};
  EXPECT_THROW(run(p, -1), xent::InputError);
  EXPECT_NO_THROW(run(p, 0));
  // A zero centre cannot be a vMF mean direction.
  const std::vector<float> zero(100 * 5, 0.0f);
  EXPECT_THROW(xent::sample_latents(p, zero.data(), 1, RngPurpose::Train, 0, 2, z, labels, nullptr),
               xent::InputError);
}

// The reference code's other two conditionals (its --c-p 3 and 4), their draws against closed
// forms. n = 200,000 draws per case; every check allows 5 standard errors of the estimate
// (a false failure once in ~1.7 million runs per check).
constexpr int kMomentDraws = 200000;
constexpr double kSigmas = 5.0;

TEST(Latents, GeneralizedNormalNoiseHasItsClosedFormMoments) {
  // Density exp(-|x|^p) / (2 Gamma(1 + 1/p)): E|x|^k = Gamma((k+1)/p) / Gamma(1/p), odd
  // moments 0. p = 1 is Laplace(0, 1), p = 2 a normal of variance 1/2.
  for (double p : {0.5, 1.0, 2.0, 4.0}) {
    xent::Philox rng(11, 3, 0);
    std::vector<double> x(kMomentDraws), ax(kMomentDraws), x2(kMomentDraws);
    for (int i = 0; i < kMomentDraws; ++i) {
      x[i] = xent::dgp::draw_generalized_normal(rng, p);
      ax[i] = std::fabs(x[i]);
      x2[i] = x[i] * x[i];
    }
    const auto moment = [&](double k) { return std::tgamma((k + 1) / p) / std::tgamma(1 / p); };
    const Stats m = stats(x), a = stats(ax), v = stats(x2);
    EXPECT_NEAR(m.mean, 0.0, kSigmas * m.se) << "p " << p;
    EXPECT_NEAR(a.mean, moment(1), kSigmas * a.se) << "p " << p;
    EXPECT_NEAR(v.mean, moment(2), kSigmas * v.se) << "p " << p;
    std::printf(
        "[ info     ] generalized normal p=%.1f: E|x| %.5f (closed form %.5f, se %.1e), "
        "E x^2 %.5f (%.5f, se %.1e)\n",
        p, a.mean, moment(1), a.se, v.mean, moment(2), v.se);
  }
}

// The truncated Laplace's first two moments, by Simpson's rule on its density over
// [-bound, loc] and [loc, bound] (smooth on each; 20,000 intervals make the quadrature error
// ~1e-15, far below the sampling error).
struct Moments {
  double mean, second;
};
Moments truncated_laplace_moments(double loc, double scale, double bound) {
  const auto pdf = [&](double x) { return std::exp(-std::fabs(x - loc) / scale); };
  double z = 0.0, m1 = 0.0, m2 = 0.0;
  for (const auto& [a, b] : {std::pair{-bound, loc}, std::pair{loc, bound}}) {
    const int n = 20000;
    const double h = (b - a) / n;
    for (int i = 0; i <= n; ++i) {
      const double x = a + i * h;
      const double w = (i == 0 || i == n ? 1.0 : (i % 2 ? 4.0 : 2.0)) * h / 3.0;
      z += w * pdf(x);
      m1 += w * x * pdf(x);
      m2 += w * x * x * pdf(x);
    }
  }
  return {m1 / z, m2 / z};
}

TEST(Latents, TruncatedLaplaceHasItsClosedFormMomentsAndBounds) {
  // (loc, scale, bound): the reference's default bound 2 at kappa 10 and 50, and a tight one.
  for (const auto& [loc, scale, bound] :
       {std::tuple{0.6, 1.0, 2.0}, std::tuple{-0.3, 5.0, 2.0}, std::tuple{0.9, 0.5, 1.0}}) {
    xent::Philox rng(12, 4, 0);
    std::vector<double> x(kMomentDraws), x2(kMomentDraws);
    for (int i = 0; i < kMomentDraws; ++i) {
      x[i] = xent::dgp::draw_truncated_laplace(rng, loc, scale, bound);
      ASSERT_GE(x[i], -bound);
      ASSERT_LE(x[i], bound);
      x2[i] = x[i] * x[i];
    }
    const Moments want = truncated_laplace_moments(loc, scale, bound);
    const Stats m = stats(x), s2 = stats(x2);
    EXPECT_NEAR(m.mean, want.mean, kSigmas * m.se) << loc << " " << scale << " " << bound;
    EXPECT_NEAR(s2.mean, want.second, kSigmas * s2.se) << loc << " " << scale << " " << bound;
    std::printf(
        "[ info     ] truncated Laplace loc %.1f scale %.1f bound %.1f: E x %.5f "
        "(quadrature %.5f, se %.1e), E x^2 %.5f (%.5f, se %.1e)\n",
        loc, scale, bound, m.mean, want.mean, m.se, s2.mean, want.second, s2.se);
  }
}

TEST(Latents, TruncatedLaplaceLatentsStayInTheBoxOffTheSphere) {
  DgpParams p;
  p.conditional = Conditional::TruncatedLaplace;
  p.kappa = 20.0;  // scale 2: most samples far off the unit sphere
  p.beta = 1.5;
  const auto centres = xent::draw_centres(p, 3);
  const Batch b = sample(p, centres, 4, 5000);
  int off_sphere = 0;
  for (int64_t j = 0; j < 5000; ++j) {
    const float* zj = &b.z[static_cast<size_t>(j * p.d)];
    for (int i = 0; i < p.d; ++i) {
      ASSERT_GE(zj[i], -1.5f);
      ASSERT_LE(zj[i], 1.5f);
    }
    off_sphere += std::fabs(std::sqrt(dot(zj, zj, p.d)) - 1.0) > 0.01;
  }
  EXPECT_GT(off_sphere, 4000);  // not projected: |z| = 1 within 1% would be rare
}

TEST(Latents, BetaMustBePositiveAndFinite) {
  DgpParams p;
  p.conditional = Conditional::GeneralizedNormal;
  const auto centres = xent::draw_centres(p, 3);
  for (double beta : {0.0, -1.0, std::nan(""), static_cast<double>(INFINITY)}) {
    p.beta = beta;
    EXPECT_THROW(sample(p, centres, 1, 4), xent::InputError) << beta;
  }
}

}  // namespace
