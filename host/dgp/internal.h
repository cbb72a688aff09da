// What the DGP's host code (host/dgp/) shares with the two backends' DGP ops: the one check of
// DgpParams before anything is sampled, Wood's (1994) constants of the vMF sampler, the mixing
// MLP's slope and shape check, and the arithmetic the centres and the CPU sampler both do on
// their draws.
//
// Internal (host/, not include/xent/): only the engine's own samplers use these, the CPU twin
// (host/cpu/sample_latents.cpp) and the CUDA backend, which turns them into the plain data its
// kernel reads (host/cuda/cuda_backend.cpp); front ends reach the same checks through
// xent::draw_centres, xent::sample_latents and the backends, and the constants' layout can
// change without touching the public API. The kernels cannot include it: they include only the
// project's compat header and their own.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "xent/dgp.h"
#include "xent/philox.h"

namespace xent::dgp {

// Throws InputError unless p can be sampled: d >= 2, clusters >= 1, kappa positive and finite,
// centre_scale non-negative and finite, instances in [1, 2^31). Every sampler calls it, on the
// CPU and for the GPU, so both reject the same parameters. (Config files get their own, stricter
// check with the keys' names, in host/experiments/synthetic/config.cpp.)
void check_sampling(const DgpParams& p);

// Wood (1994) for vMF(kappa) on S^(d-1), which depend only on (d, kappa):
//   b = (d-1) / (2 kappa + sqrt(4 kappa^2 + (d-1)^2)),  x0 = (1-b) / (1+b),
//   c = kappa x0 + (d-1) log(1 - x0^2),  a = (d-1)/2 (the Beta shape of the proposal).
// Computed on the host, in one place, so that the CPU sampler and the kernel use the same bits.
struct Wood {
  double kappa, dm1, b, x0, c, a;  // dm1 = d - 1
};
Wood wood(int d, double kappa);

// The LeakyReLU slope between the mixing MLP's layers, which its forward and its inverse share.
constexpr double kMixingSlope = 0.2;

// Throws InputError unless (layers, d) is a mixing MLP's shape (d >= 2, layers >= 1) and the
// sample count n is non-negative: checked by the draw, the CPU forward and the inverse.
void check_mixing(int layers, int d, int64_t n);
// The frozen parts from DgpParams::centres_file and mixing_file: the file's array, checked
// against p's shape (and the centres for unit norm, the mixing for finite weights); throws
// InputError naming the key, the file and what is wrong.
std::vector<float> read_centres(const DgpParams& p);
std::vector<float> read_mixing(const DgpParams& p);

// Throws InputError if n > 0 and any of the three buffers is null.
void check_mixing_buffers(const void* weights, const void* in, const void* out, int64_t n);

// The arithmetic on top of the draws that the centres and the CPU sampler share; the kernel
// (kernels/sample_latents.cu) repeats it draw for draw.

// One coordinate of noise: Laplace(0, 1) from one uniform, or one normal.
inline double draw_noise(Philox& rng, bool laplace) {
  return laplace ? laplace_from_uniform(static_cast<double>(rng.uniform()))
                 : static_cast<double>(rng.normal());
}

// Gamma(a, 1), Marsaglia-Tsang 2000: if a < 1, G = Gamma(a+1) * u^(1/a) with u = uniform() drawn
// after the Gamma(a+1) draw. Otherwise dd = a - 1/3, cc = 1/sqrt(9 dd);
//   repeat { x = normal(); t = 1 + cc x; if t <= 0 continue; t = t^3; u = uniform(); }
//   until log(u) < x^2/2 + dd - dd t + dd log(t);  G = dd t.
inline double gamma_draw(Philox& rng, double a) {
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

// Laplace(loc, scale) truncated to [-bound, bound] (loc inside it), by inversion of one
// uniform u in (0, 1] mapped onto [F(-bound), F(bound)] of the Laplace CDF F, as the reference
// code does (its NSphereSpace.truncated_laplace).
inline double draw_truncated_laplace(Philox& rng, double loc, double scale, double bound) {
  const double lo = 0.5 * std::exp((-bound - loc) / scale);
  const double hi = 1.0 - 0.5 * std::exp((loc - bound) / scale);
  const double v = lo + static_cast<double>(rng.uniform()) * (hi - lo);
  return v < 0.5 ? loc + scale * std::log(2.0 * v) : loc - scale * std::log(2.0 * (1.0 - v));
}

// Generalized normal noise of shape p and scale 1 (density proportional to exp(-|x|^p)): a
// Gamma(1/p) draw g, then one uniform for the sign (u <= 1/2: negative), x = +-g^(1/p), as the
// reference's sample_generalized_normal (a Gamma draw and a random sign).
inline double draw_generalized_normal(Philox& rng, double p) {
  const double g = gamma_draw(rng, 1.0 / p);
  const double sign = rng.uniform() <= 0.5f ? -1.0 : 1.0;
  return sign * std::pow(g, 1.0 / p);
}

// The Euclidean norm, summed in index order.
inline double norm(const std::vector<double>& x) {
  double ss = 0.0;
  for (double v : x) ss += v * v;
  return std::sqrt(ss);
}

// x / n, rounded to float only at the end.
inline void write_normalised(const std::vector<double>& x, double n, float* out) {
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] / n);
}

}  // namespace xent::dgp
