// Cluster centres and latent samples of the synthetic DGP (DESIGN.md section 1).
//
// The draws are specified by the order in which they consume one Philox stream, so that a CUDA
// kernel calling curand_init(seed, stream, 0) with curand() / curand_uniform() /
// curand_normal() in the same order reproduces them (normals to ~1e-6, see philox.h). The
// arithmetic on top of the draws is done in double here and rounded to float at the end.
//
// Centre c, stream rng_stream(Centres, c):
//   Uniform:        repeat { d normals } until their norm is > 0; normalise.
//   Laplace/Normal: repeat { x = e1 + centre_scale * (d Laplace via laplace_from_uniform(uniform())
//                   or d normals) } until |x| > 0; normalise.
// Sample j, stream rng_stream(purpose, first + j):
//   1. one u32 t; k = (uint64(t) * M) >> 32 with M = clusters (supervised: label = cluster = k)
//      or M = instances (DIET: label = k, cluster = k % clusters).
//   2. mu = centre[cluster] (renormalised in double).
//   vMF (Wood 1994), with b = (d-1) / (2 kappa + sqrt(4 kappa^2 + (d-1)^2)), x0 = (1-b)/(1+b),
//   c = kappa x0 + (d-1) log(1 - x0^2), a = (d-1)/2:
//     repeat {
//       s = G1 / (G1 + G2), G1 then G2 ~ Gamma(a) (below);
//       w = (1 - (1+b) s) / (1 - (1-b) s);  u = uniform();
//     } until kappa w + (d-1) log(1 - x0 w) - c >= log(u)
//     repeat { n = d normals; v = n - (n.mu) mu } until |v|^2 > 1e-20; v /= |v|
//     z = w mu + sqrt(1 - w^2) v, normalised.
//   Laplace/Normal: z = normalise(mu + (kappa/10) * noise), noise = d draws as for the centres;
//     redrawn (whole vector) in the measure-zero case that the sum is exactly 0.
//   Gamma(a), Marsaglia-Tsang 2000: if a < 1, G = Gamma(a+1) * u^(1/a) with u = uniform() drawn
//   after the Gamma(a+1) draw. Otherwise dd = a - 1/3, cc = 1/sqrt(9 dd);
//     repeat { x = normal(); t = 1 + cc x; if t <= 0 continue; t = t^3; u = uniform(); }
//     until log(u) < x^2/2 + dd - dd t + dd log(t);  G = dd t.
// The redraw loops on a zero vector only matter for d = 2, where a normal pair is exactly zero
// when its Box-Muller uniform rounds to 1 (probability ~2^-25 per pair): frequent enough over a
// training run to need a rule.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/philox.h"

namespace xent {
namespace {

void check_params(const DgpParams& p) {
  if (p.d < 2) {
    throw InputError("dgp: latent dimension d must be at least 2, got " + std::to_string(p.d));
  }
  if (p.clusters < 1) {
    throw InputError("dgp: clusters must be at least 1, got " + std::to_string(p.clusters));
  }
  if (!(p.kappa > 0.0) || !std::isfinite(p.kappa)) {
    throw InputError("dgp: kappa must be positive and finite, got " + std::to_string(p.kappa));
  }
  if (!(p.centre_scale >= 0.0) || !std::isfinite(p.centre_scale)) {
    throw InputError("dgp: centre_scale must be non-negative and finite, got " +
                     std::to_string(p.centre_scale));
  }
  // Labels are int32 and the index draw maps one u32 onto [0, M), so M must fit in 31 bits.
  if (p.instances < 1 || p.instances > std::numeric_limits<int32_t>::max()) {
    throw InputError("dgp: instances must be in [1, 2^31), got " + std::to_string(p.instances));
  }
}

double draw_noise(Philox& rng, bool laplace) {
  return laplace ? laplace_from_uniform(static_cast<double>(rng.uniform()))
                 : static_cast<double>(rng.normal());
}

double norm(const std::vector<double>& x) {
  double ss = 0.0;
  for (double v : x) ss += v * v;
  return std::sqrt(ss);
}

void write_normalised(const std::vector<double>& x, double n, float* out) {
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] / n);
}

double gamma_draw(Philox& rng, double a) {
  if (a < 1.0) {
    const double g = gamma_draw(rng, a + 1.0);
    const double u = static_cast<double>(rng.uniform());
    return g * std::pow(u, 1.0 / a);
  }
  const double dd = a - 1.0 / 3.0;
  const double cc = 1.0 / std::sqrt(9.0 * dd);
  for (;;) {
    const double x = static_cast<double>(rng.normal());
    double t = 1.0 + cc * x;
    if (t <= 0.0) continue;
    t = t * t * t;
    const double u = static_cast<double>(rng.uniform());
    if (std::log(u) < 0.5 * x * x + dd - dd * t + dd * std::log(t)) return dd * t;
  }
}

// Wood's constants depend only on (d, kappa): computed once per call of sample_latents.
struct Wood {
  double kappa, dm1, b, x0, c, a;
  Wood(int d, double k) : kappa(k), dm1(d - 1) {
    b = dm1 / (2.0 * kappa + std::sqrt(4.0 * kappa * kappa + dm1 * dm1));
    x0 = (1.0 - b) / (1.0 + b);
    // 1 - x0^2 = 4b / (1+b)^2 without the cancellation for large kappa.
    c = kappa * x0 + dm1 * std::log(4.0 * b / ((1.0 + b) * (1.0 + b)));
    a = 0.5 * dm1;
  }

  double draw_w(Philox& rng) const {
    for (;;) {
      const double g1 = gamma_draw(rng, a);
      const double g2 = gamma_draw(rng, a);
      const double s = g1 / (g1 + g2);
      const double w = (1.0 - (1.0 + b) * s) / (1.0 - (1.0 - b) * s);
      const double u = static_cast<double>(rng.uniform());
      if (kappa * w + dm1 * std::log(1.0 - x0 * w) - c >= std::log(u)) return w;
    }
  }
};

}  // namespace

std::vector<float> draw_centres(const DgpParams& p, uint64_t seed) {
  check_params(p);
  const size_t d = static_cast<size_t>(p.d);
  std::vector<float> out(static_cast<size_t>(p.clusters) * d);
  std::vector<double> x(d);
  for (int c = 0; c < p.clusters; ++c) {
    Philox rng(seed, rng_stream(RngPurpose::Centres, static_cast<uint64_t>(c)), 0);
    double n = 0.0;
    do {
      for (size_t i = 0; i < d; ++i) {
        switch (p.centres) {
          case CentreDist::Uniform:
            x[i] = static_cast<double>(rng.normal());
            break;
          case CentreDist::Laplace:
          case CentreDist::Normal:
            x[i] = (i == 0 ? 1.0 : 0.0) +
                   p.centre_scale * draw_noise(rng, p.centres == CentreDist::Laplace);
            break;
        }
      }
      n = norm(x);
    } while (!(n > 0.0));
    write_normalised(x, n, out.data() + static_cast<size_t>(c) * d);
  }
  return out;
}

void sample_latents(const DgpParams& p, const float* centres, uint64_t seed, RngPurpose purpose,
                    uint64_t first, int64_t n, float* z, int32_t* labels, int32_t* cluster) {
  check_params(p);
  if (n < 0) throw InputError("sample_latents: negative sample count " + std::to_string(n));
  if (n == 0) return;
  if (centres == nullptr || z == nullptr || labels == nullptr) {
    throw InputError("sample_latents: centres, z and labels must not be null");
  }
  const size_t d = static_cast<size_t>(p.d);
  const bool diet = p.labels == LabelMode::Diet;
  const uint64_t m = static_cast<uint64_t>(diet ? p.instances : p.clusters);
  const Wood wood(p.d, p.kappa);
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
    const double mu_norm = norm(mu);
    if (!(mu_norm > 0.0) || !std::isfinite(mu_norm)) {
      throw InputError("sample_latents: centre " + std::to_string(cl) + " is zero or not finite");
    }
    for (double& v : mu) v /= mu_norm;

    double len = 0.0;
    if (p.conditional == Conditional::VonMisesFisher) {
      const double w = wood.draw_w(rng);
      double vn = 0.0;
      do {
        double dot = 0.0;
        for (size_t i = 0; i < d; ++i) {
          x[i] = static_cast<double>(rng.normal());
          dot += x[i] * mu[i];
        }
        for (size_t i = 0; i < d; ++i) x[i] -= dot * mu[i];
        vn = norm(x);
      } while (!(vn * vn > 1e-20));
      const double r = std::sqrt(std::max(0.0, 1.0 - w * w)) / vn;
      for (size_t i = 0; i < d; ++i) x[i] = w * mu[i] + r * x[i];
      len = norm(x);
    } else {
      const bool laplace = p.conditional == Conditional::Laplace;
      do {
        for (size_t i = 0; i < d; ++i) x[i] = mu[i] + noise_scale * draw_noise(rng, laplace);
        len = norm(x);
      } while (!(len > 0.0));
    }
    write_normalised(x, len, z + static_cast<size_t>(j) * d);
  }
}

}  // namespace xent
