// Latent samples of the synthetic DGP (docs/paper.md): the CPU twin of kernels/sample_latents.cu.
// The centres they are drawn around are host/dgp/centres.cpp's.
//
// The draws are specified by the order in which they consume one Philox stream, so that a CUDA
// kernel calling curand_init(seed, stream, 0) with curand() / curand_uniform() /
// curand_normal() in the same order reproduces them (normals to ~1e-6, see philox.h). The
// arithmetic on top of the draws is done in double here and rounded to float at the end.
//
// Sample j, stream rng_stream(purpose, first + j):
//   1. one u32 t; k = (uint64(t) * M) >> 32 with M = clusters (supervised: label = cluster = k)
//      or M = instances (DIET: label = k, cluster = k % clusters).
//   2. mu = centre[cluster] (renormalised in double).
//   vMF (Wood 1994), with the constants b, x0, c, a of dgp::wood (host/dgp/internal.h):
//     repeat {
//       s = G1 / (G1 + G2), G1 then G2 ~ Gamma(a) (below);
//       w = (1 - (1+b) s) / (1 - (1-b) s);  u = uniform();
//     } until kappa w + (d-1) log(1 - x0 w) - c >= log(u)
//     repeat { n = d normals; v = n - (n.mu) mu } until |v|^2 > 1e-20; v /= |v|
//     z = w mu + sqrt(1 - w^2) v, normalised.
//   Laplace/Normal: z = normalise(mu + (kappa/10) * noise), noise = d draws as for the centres;
//     redrawn (whole vector) in the measure-zero case that the sum is exactly 0.
//   GeneralizedNormal: the same with noise = d draws of dgp::draw_generalized_normal(beta).
//   TruncatedLaplace: z_i = dgp::draw_truncated_laplace(mu_i, kappa/10, beta), i = 0 .. d-1,
//     not normalised.
//   Gamma(a): dgp::gamma_draw (host/dgp/internal.h).
// The redraw loops on a zero vector only matter for d = 2, where a normal pair is exactly zero
// when its Box-Muller uniform rounds to 1 (probability ~2^-25 per pair): frequent enough over a
// training run to need a rule.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "dgp/internal.h"
#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/philox.h"

namespace xent {
namespace {

// Wood (1994): the component of the sample along mu.
double draw_w(Philox& rng, const dgp::Wood& wood) {
  for (;;) {
    const double g1 = dgp::gamma_draw(rng, wood.a);
    const double g2 = dgp::gamma_draw(rng, wood.a);
    const double s = g1 / (g1 + g2);
    const double w = (1.0 - (1.0 + wood.b) * s) / (1.0 - (1.0 - wood.b) * s);
    const double u = static_cast<double>(rng.uniform());
    if (wood.kappa * w + wood.dm1 * std::log(1.0 - wood.x0 * w) - wood.c >= std::log(u)) return w;
  }
}

}  // namespace

void sample_latents(const DgpParams& p, const float* centres, uint64_t seed, RngPurpose purpose,
                    uint64_t first, int64_t n, float* z, int32_t* labels, int32_t* cluster) {
  dgp::check_sampling(p);
  if (n < 0) throw InputError("sample_latents: negative sample count " + std::to_string(n));
  if (n == 0) return;
  if (centres == nullptr || z == nullptr || labels == nullptr) {
    throw InputError("sample_latents: centres, z and labels must not be null");
  }
  const size_t d = static_cast<size_t>(p.d);
  const bool diet = p.labels == LabelMode::Diet;
  const uint64_t m = static_cast<uint64_t>(diet ? p.instances : p.clusters);
  // Wood's constants depend only on (d, kappa): computed once per call.
  const dgp::Wood wood = dgp::wood(p.d, p.kappa);
  const double noise_scale = p.kappa / 10.0;
  std::vector<double> mu(d), x(d);

  for (int64_t j = 0; j < n; ++j) {
    Philox rng(seed, rng_stream(purpose, first + static_cast<uint64_t>(j)), 0);
    const uint64_t k = (uint64_t{rng.next_u32()} * m) >> 32;
    const auto k32 = static_cast<int32_t>(k);
    const int32_t cl = diet ? static_cast<int32_t>(k % static_cast<uint64_t>(p.clusters)) : k32;
    labels[j] = k32;
    if (cluster != nullptr) cluster[j] = cl;

    const float* c = centres + static_cast<size_t>(cl) * d;
    for (size_t i = 0; i < d; ++i) mu[i] = static_cast<double>(c[i]);
    const double mu_norm = dgp::norm(mu);
    if (!(mu_norm > 0.0) || !std::isfinite(mu_norm)) {
      throw InputError("sample_latents: centre " + std::to_string(cl) + " is zero or not finite");
    }
    for (double& v : mu) v /= mu_norm;

    double len = 0.0;
    if (p.conditional == Conditional::VonMisesFisher) {
      const double w = draw_w(rng, wood);
      double vn = 0.0;
      do {
        double dot = 0.0;
        for (size_t i = 0; i < d; ++i) {
          x[i] = static_cast<double>(rng.normal());
          dot += x[i] * mu[i];
        }
        for (size_t i = 0; i < d; ++i) x[i] -= dot * mu[i];
        vn = dgp::norm(x);
      } while (!(vn * vn > 1e-20));
      const double r = std::sqrt(std::max(0.0, 1.0 - w * w)) / vn;
      for (size_t i = 0; i < d; ++i) x[i] = w * mu[i] + r * x[i];
      len = dgp::norm(x);
    } else if (p.conditional == Conditional::TruncatedLaplace) {
      // Not projected: the sample stays in the box [-beta, beta]^d.
      for (size_t i = 0; i < d; ++i)
        x[i] = dgp::draw_truncated_laplace(rng, mu[i], noise_scale, p.beta);
      len = 1.0;
    } else {
      // Laplace, Normal, GeneralizedNormal: mu plus noise, projected.
      const bool generalized = p.conditional == Conditional::GeneralizedNormal;
      const bool laplace = p.conditional == Conditional::Laplace;
      do {
        for (size_t i = 0; i < d; ++i)
          x[i] = mu[i] + noise_scale * (generalized ? dgp::draw_generalized_normal(rng, p.beta)
                                                    : dgp::draw_noise(rng, laplace));
        len = dgp::norm(x);
      } while (!(len > 0.0));
    }
    dgp::write_normalised(x, len, z + static_cast<size_t>(j) * d);
  }
}

}  // namespace xent
