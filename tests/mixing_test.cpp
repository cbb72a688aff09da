// The mixing MLP (host/dgp/mixing.cpp, its CPU forward host/cpu/mixing.cpp): condition numbers,
// the rejection scheme recomputed from its specification, column norms, and forward / inverse
// round trips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/philox.h"

namespace {

using xent::DgpParams;

// Candidate a of the specification in host/dgp/mixing.cpp, written out independently: uniforms in
// row-major order, 2u - 1, columns normalised in double, rounded to float.
std::vector<float> candidate(uint64_t seed, uint64_t a, int d) {
  xent::Philox rng(seed, xent::rng_stream(xent::RngPurpose::Mixing, a), 0);
  std::vector<double> m(static_cast<size_t>(d * d));
  for (double& v : m) v = 2.0 * static_cast<double>(rng.uniform()) - 1.0;
  std::vector<float> w(m.size());
  for (int c = 0; c < d; ++c) {
    double ss = 0.0;
    for (int r = 0; r < d; ++r) ss += m[r * d + c] * m[r * d + c];
    for (int r = 0; r < d; ++r) w[r * d + c] = static_cast<float>(m[r * d + c] / std::sqrt(ss));
  }
  return w;
}

double cond_of(const float* w, int d) {
  std::vector<double> a(w, w + d * d);
  return xent::condition_number(a.data(), d);
}

double threshold_of(uint64_t seed, const DgpParams& p) {
  double t = std::numeric_limits<double>::infinity();
  for (int a = 0; a < p.mixing_cond_draws; ++a) {
    t = std::min(t, cond_of(candidate(seed, static_cast<uint64_t>(a), p.d).data(), p.d));
  }
  return t;
}

TEST(Mixing, ConditionNumberOfKnownMatrices) {
  for (int d : {1, 2, 5, 20}) {
    // diag(1, ..., d): singular values 1..d, so exactly d. Householder steps on columns that
    // are already multiples of unit vectors are identities, so LAPACK gets it exactly.
    std::vector<double> a(static_cast<size_t>(d * d), 0.0);
    for (int i = 0; i < d; ++i) a[i * d + i] = i + 1.0;
    EXPECT_EQ(xent::condition_number(a.data(), d), static_cast<double>(d)) << "d " << d;
  }
  // A permuted, sign-flipped diagonal has the same singular values {1, 2, 4}; 1e-14 allows a
  // few ulps of rounding in the orthogonal transformations LAPACK may now apply.
  const double perm[9] = {0, -2, 0, 0, 0, 4, 1, 0, 0};
  EXPECT_NEAR(xent::condition_number(perm, 3), 4.0, 1e-14 * 4.0);
  // [[1, 1], [0, 1]]: singular values are the golden ratio and its inverse, so the condition
  // number is phi^2 = (3 + sqrt 5) / 2; a few ulps of tolerance for the same reason.
  const double shear[4] = {1, 1, 0, 1};
  EXPECT_NEAR(xent::condition_number(shear, 2), (3.0 + std::sqrt(5.0)) / 2.0, 1e-14 * 3.0);
  // A rotation is perfectly conditioned.
  const double t = 0.7;
  const double rot[4] = {std::cos(t), -std::sin(t), std::sin(t), std::cos(t)};
  EXPECT_NEAR(xent::condition_number(rot, 2), 1.0, 1e-14);
  // An exactly zero singular value gives infinity; a rank-deficient matrix whose smallest
  // singular value is only rounding noise (~eps * sigma_max) gives at least ~1/(d eps) = 2e15.
  const double zero_column[4] = {1, 0, 3, 0};
  EXPECT_EQ(xent::condition_number(zero_column, 2), std::numeric_limits<double>::infinity());
  const double singular[4] = {1, 2, 2, 4};
  EXPECT_GT(xent::condition_number(singular, 2), 1e15);
  // Non-finite input has no condition number either.
  const double bad[4] = {1, std::nan(""), 0, 1};
  EXPECT_EQ(xent::condition_number(bad, 2), std::numeric_limits<double>::infinity());
}

// The whole rejection scheme, recomputed with an SVD of every candidate: the threshold is the
// minimum over the first mixing_cond_draws candidates and layer l is the l-th later candidate
// at or below it. draw_mixing prunes most candidates with a cheap bound; this checks, bit for
// bit, that the pruning never changed the answer.
TEST(Mixing, LayersAreTheFirstCandidatesAtOrBelowTheRecomputedThreshold) {
  struct Case {
    int d, draws;
    uint64_t seed;
  };
  for (const Case& c : {Case{2, 200, 9}, Case{3, 300, 1}, Case{5, 500, 2}, Case{20, 150, 3}}) {
    SCOPED_TRACE(testing::Message() << "d " << c.d << " draws " << c.draws);
    DgpParams p;
    p.d = c.d;
    p.mixing_cond_draws = c.draws;
    p.mixing_layers = 4;
    const std::vector<float> w = xent::draw_mixing(p, c.seed);
    ASSERT_EQ(w.size(), static_cast<size_t>(4 * c.d * c.d));
    const double threshold = threshold_of(c.seed, p);
    uint64_t a = static_cast<uint64_t>(c.draws);
    for (int l = 0; l < 4; ++l) {
      std::vector<float> expected;
      for (;; ++a) {
        expected = candidate(c.seed, a, c.d);
        if (cond_of(expected.data(), c.d) <= threshold) break;
      }
      ++a;
      const float* layer = &w[static_cast<size_t>(l * c.d * c.d)];
      EXPECT_LE(cond_of(layer, c.d), threshold) << "layer " << l;
      EXPECT_EQ(std::vector<float>(layer, layer + c.d * c.d), expected) << "layer " << l;
    }
  }
}

// The draw splits its candidates over threads; the weights must not depend on how many.
TEST(Mixing, AnyThreadCountGivesTheSerialWeights) {
  for (const int d : {2, 5, 20}) {
    DgpParams p;
    p.d = d;
    p.mixing_cond_draws = d == 20 ? 300 : 2000;
    for (const uint64_t seed : {0u, 7u}) {
      const std::vector<float> serial = xent::draw_mixing(p, seed, 1);
      for (const int threads : {2, 3, 5})
        EXPECT_EQ(xent::draw_mixing(p, seed, threads), serial)
            << "d " << d << " seed " << seed << " threads " << threads;
    }
  }
  EXPECT_THROW(xent::draw_mixing(DgpParams{}, 0, -1), xent::InputError);
}

// A population's replicas are drawn together, in rounds shared between them; each must still
// get its own serial draw, whatever the population size, thread count and mix of parameters.
TEST(Mixing, PopulationDrawGivesEachReplicasSerialWeights) {
  std::vector<DgpParams> ps;
  std::vector<uint64_t> seeds;
  for (int k = 0; k < 7; ++k) {
    DgpParams p;
    p.d = k % 3 == 0 ? 2 : 5;
    p.mixing_layers = 2 + k % 3;
    p.mixing_cond_draws = 500 + 300 * k;
    ps.push_back(p);
    seeds.push_back(static_cast<uint64_t>(11 * k + 3));
  }
  std::vector<std::vector<float>> serial;
  for (size_t k = 0; k < ps.size(); ++k) serial.push_back(xent::draw_mixing(ps[k], seeds[k], 1));
  for (const size_t K : {size_t{1}, size_t{2}, size_t{7}}) {
    const std::vector<DgpParams> pk(ps.begin(), ps.begin() + static_cast<std::ptrdiff_t>(K));
    const std::vector<uint64_t> sk(seeds.begin(), seeds.begin() + static_cast<std::ptrdiff_t>(K));
    for (const int threads : {1, 2, 3, 16}) {
      const auto w = xent::draw_mixing_population(pk, sk, threads);
      ASSERT_EQ(w.size(), K);
      for (size_t k = 0; k < K; ++k)
        EXPECT_EQ(w[k], serial[k]) << "K " << K << " threads " << threads << " replica " << k;
    }
  }
  EXPECT_TRUE(xent::draw_mixing_population({}, {}, 2).empty());
  EXPECT_THROW(xent::draw_mixing_population(ps, {1}, 2), xent::InputError);
}

TEST(Mixing, DefaultParametersMeetTheirThreshold) {
  DgpParams p;  // d = 5, 4 layers, 25000 threshold draws, as in the paper
  const std::vector<float> w = xent::draw_mixing(p, 2024);
  const double threshold = threshold_of(2024, p);
  for (int l = 0; l < p.mixing_layers; ++l) {
    EXPECT_LE(cond_of(&w[static_cast<size_t>(l * 25)], 5), threshold) << "layer " << l;
  }
  // The minimum of 25000 draws is a small number for d = 5 (about 1.6 to 2): the layers are
  // genuinely well conditioned, not merely below some loose bound.
  EXPECT_LT(threshold, 3.0);
}

TEST(Mixing, ColumnsHaveUnitNormAndEntriesAreInRange) {
  for (int d : {2, 5, 20}) {
    DgpParams p;
    p.d = d;
    p.mixing_cond_draws = 50;
    const std::vector<float> w = xent::draw_mixing(p, 17);
    for (int l = 0; l < p.mixing_layers; ++l) {
      for (int c = 0; c < d; ++c) {
        double ss = 0.0;
        for (int r = 0; r < d; ++r) {
          const double v = static_cast<double>(w[static_cast<size_t>((l * d + r) * d + c)]);
          ASSERT_LE(std::abs(v), 1.0);
          ss += v * v;
        }
        // Each entry is the double-normalised value rounded to float (relative error 2^-24),
        // so the norm is within 2^-24 of 1; 1e-6 is 16 times that.
        EXPECT_NEAR(std::sqrt(ss), 1.0, 1e-6) << "d " << d << " layer " << l << " column " << c;
      }
    }
  }
}

TEST(Mixing, SameSeedSameWeightsDifferentSeedDifferent) {
  DgpParams p;
  p.mixing_cond_draws = 100;
  EXPECT_EQ(xent::draw_mixing(p, 5), xent::draw_mixing(p, 5));
  EXPECT_NE(xent::draw_mixing(p, 5), xent::draw_mixing(p, 6));
}

// x = W2 lrelu(W1 z) by hand, both branches of the LeakyReLU, and no activation at the end.
TEST(Mixing, ForwardMatchesHandComputation) {
  const float w[8] = {1, 2, 3, 4, 0.5f, 0, 1, -1};
  const float z[4] = {1, -1, 2, 1};
  float x[4];
  xent::mixing_forward(w, 2, 2, z, 2, x);
  // (1, -1): W1 z = (-1, -1) -> (-0.2, -0.2) -> W2 -> (-0.1, 0).
  EXPECT_FLOAT_EQ(x[0], -0.1f);
  EXPECT_FLOAT_EQ(x[1], 0.0f);
  // (2, 1): W1 z = (4, 10) -> unchanged -> W2 -> (2, -6), left negative.
  EXPECT_FLOAT_EQ(x[2], 2.0f);
  EXPECT_FLOAT_EQ(x[3], -6.0f);
  double back[4];
  xent::mixing_inverse(w, 2, 2, x, 2, back);
  // Only x[0] = -0.1 is inexact in float, off by |e| <= 1.5e-9. Back through W2^-1 = [[2, 0],
  // [2, -1]], the inverse LeakyReLU (x5) and W1^-1 = [[-2, 1], [1.5, -0.5]] it becomes
  // (-10 e, 10 e), so 1e-7 bounds the error with room to spare.
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(back[i], static_cast<double>(z[i]), 1e-7);
}

// z -> x in float -> z in double. The only float rounding is of x (relative 2^-24 per
// coordinate, so |dx| <= 2^-24 |x|). Going back, each layer multiplies an error by at most
// 1 / sigma_min(W) <= cond(W) (its columns are unit, so sigma_max >= 1, up to 1e-7) and each
// inverse LeakyReLU by at most 5: the bound below is rigorous, plus 1e-12 for double rounding.
TEST(Mixing, InverseUndoesForwardWithinFloatRounding) {
  for (int d : {2, 5, 20}) {
    SCOPED_TRACE(testing::Message() << "d " << d);
    DgpParams p;
    p.d = d;
    p.clusters = 10;
    p.mixing_cond_draws = 300;
    const std::vector<float> w = xent::draw_mixing(p, 41);
    double amplification = 1.0;
    for (int l = 0; l < p.mixing_layers; ++l) {
      amplification *= cond_of(&w[static_cast<size_t>(l * d * d)], d) * (1.0 + 1e-6);
      if (l > 0) amplification *= 5.0;
    }
    const auto centres = xent::draw_centres(p, 41);
    constexpr int64_t kN = 2000;
    std::vector<float> z(static_cast<size_t>(kN * d)), x(z.size());
    std::vector<int32_t> labels(kN);
    xent::sample_latents(p, centres.data(), 41, xent::RngPurpose::Eval, 0, kN, z.data(),
                         labels.data(), nullptr);
    xent::mixing_forward(w.data(), p.mixing_layers, d, z.data(), kN, x.data());
    std::vector<double> back(z.size());
    xent::mixing_inverse(w.data(), p.mixing_layers, d, x.data(), kN, back.data());
    for (int64_t j = 0; j < kN; ++j) {
      double xn = 0.0, err = 0.0;
      for (int i = 0; i < d; ++i) {
        const size_t k = static_cast<size_t>(j * d + i);
        xn += static_cast<double>(x[k]) * static_cast<double>(x[k]);
        err += (back[k] - static_cast<double>(z[k])) * (back[k] - static_cast<double>(z[k]));
      }
      const double bound = amplification * std::ldexp(std::sqrt(xn), -24) + 1e-12;
      ASSERT_LE(std::sqrt(err), bound) << "sample " << j;
    }
    // The round trip must do real work: a mixing that was the identity would make this test
    // vacuous, so x must differ from z.
    double moved = 0.0;
    for (size_t k = 0; k < z.size(); ++k) moved += std::abs(x[k] - z[k]);
    EXPECT_GT(moved / static_cast<double>(z.size()), 0.05);
  }
}

TEST(Mixing, RejectsNonsenseParameters) {
  DgpParams p;
  p.mixing_cond_draws = 10;
  p.d = 1;
  EXPECT_THROW(xent::draw_mixing(p, 1), xent::InputError);
  p.d = 5;
  p.mixing_layers = 0;
  EXPECT_THROW(xent::draw_mixing(p, 1), xent::InputError);
  p.mixing_layers = 4;
  p.mixing_cond_draws = 0;
  EXPECT_THROW(xent::draw_mixing(p, 1), xent::InputError);
  const float w[4] = {1, 0, 0, 1};
  float z[2] = {1, 2}, x[2];
  double back[2];
  EXPECT_THROW(xent::mixing_forward(w, 0, 2, z, 1, x), xent::InputError);
  EXPECT_THROW(xent::mixing_forward(w, 1, 1, z, 1, x), xent::InputError);
  EXPECT_THROW(xent::mixing_inverse(w, 1, 2, x, -1, back), xent::InputError);
  const float singular[4] = {1, 2, 2, 4};
  EXPECT_THROW(xent::mixing_inverse(singular, 1, 2, z, 1, back), xent::InputError);
  EXPECT_THROW(xent::condition_number(nullptr, 2), xent::InputError);
  const double one[1] = {1.0};
  EXPECT_THROW(xent::condition_number(one, 0), xent::InputError);
}

}  // namespace
