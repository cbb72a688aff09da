// The DGP's latent samples (docs/paper.md) for K replicas: one thread per sample, each
// consuming its own Philox stream through cuRAND in exactly the order that
// host/cpu/sample_latents.cpp specifies in its header comment, with the same double arithmetic on
// top. What depends only on DgpParams arrives checked and computed, as LatentReplica (latents.h).
//
// d is a runtime value (config allows up to 4096), so a thread keeps no per-coordinate array:
// wherever the CPU stores a vector of d draws and passes over it again, the kernel saves the
// generator state before the draws and replays them from a copy. A copy of the state yields the
// same numbers (the cached second Box-Muller normal included), so each replay reproduces the
// stored vector bit for bit, for the price of redrawing d numbers (a Philox block per four).
//
// Agreement with the CPU reference:
//   - labels and clusters depend on the first u32 of the stream only: identical everywhere.
//   - under the emulator, cuRAND's host code gives xent::Philox's normals and uniforms exactly
//     (tests/philox_test.cpp) and g++ rounds every double operation as the CPU build does, so
//     latents are bit-identical.
//   - on a GPU, cuRAND's normals differ from the host's in the last bits (__sincosf), nvcc
//     contracts multiply-adds and the device libm may differ by an ulp: latents agree to ~1e-6. A
//     rejection test whose margin is smaller than that perturbation (Marsaglia-Tsang or Wood,
//     probability ~1e-6 to 1e-5 per sample) can flip; that sample then consumes its stream
//     differently and gets an unrelated, equally valid latent. Its label and cluster, drawn first,
//     are unaffected. The statistics of the data do not change.
#include "compat.cuh"
//
#include <cmath>
#include <limits>
#include <string>

#include "check.cuh"
#include "curand.cuh"
#include "sample_latents.h"
#include "xent/error.h"

namespace xent::kernels {
namespace {

using State = curandStatePhilox4_32_10_t;

constexpr int kThreads = 128;
constexpr uint64_t kStreamIndexMask = (uint64_t{1} << 56) - 1;

// dgp.h's laplace_from_uniform, which is host-only.
__device__ __forceinline__ double laplace_from_uniform(double u) {
  return u <= 0.5 ? log(2.0 * u) : -log(2.0 * u - 1.0);
}

__device__ __forceinline__ double normal(State* s) { return static_cast<double>(curand_normal(s)); }

__device__ __forceinline__ double uniform(State* s) {
  return static_cast<double>(curand_uniform(s));
}

__device__ __forceinline__ double noise(State* s, bool laplace) {
  return laplace ? laplace_from_uniform(uniform(s)) : normal(s);
}

// |x| of the d coordinates coord(s, 0..d-1) drawn from *s (which advances), summed in index
// order like the CPU's norm().
template <class Coord>
__device__ __forceinline__ double draw_norm(const Coord& coord, State* s, int d) {
  double ss = 0.0;
  for (int i = 0; i < d; ++i) {
    const double x = coord(s, i);
    ss += x * x;
  }
  return sqrt(ss);
}

// Replays the draws from `s` (a copy) and writes them divided by len, rounded to float.
template <class Coord>
__device__ __forceinline__ void write_normalised(const Coord& coord, State s, int d, double len,
                                                 float* out) {
  for (int i = 0; i < d; ++i) out[i] = static_cast<float>(coord(&s, i) / len);
}

// Marsaglia-Tsang; a < 1 boosts through Gamma(a + 1), as the CPU's one level of recursion does
// (a + 1 >= 1 for any a > 0: vMF's (d-1)/2, the generalized normal's 1/p).
__device__ double gamma_draw(State* s, double a) {
  const bool boost = a < 1.0;
  const double ag = boost ? a + 1.0 : a;
  const double dd = ag - 1.0 / 3.0;
  const double cc = 1.0 / sqrt(9.0 * dd);
  double g;
  for (;;) {
    const double x = normal(s);
    double t = 1.0 + cc * x;
    if (t <= 0.0) continue;
    t = t * t * t;
    const double u = uniform(s);
    if (log(u) < 0.5 * x * x + dd - dd * t + dd * log(t)) {
      g = dd * t;
      break;
    }
  }
  if (boost) g = g * pow(uniform(s), 1.0 / a);
  return g;
}

// dgp::draw_truncated_laplace: one uniform, inverted within [F(-bound), F(bound)].
__device__ __forceinline__ double truncated_laplace(State* s, double loc, double scale,
                                                    double bound) {
  const double lo = 0.5 * exp((-bound - loc) / scale);
  const double hi = 1.0 - 0.5 * exp((loc - bound) / scale);
  const double v = lo + uniform(s) * (hi - lo);
  return v < 0.5 ? loc + scale * log(2.0 * v) : loc - scale * log(2.0 * (1.0 - v));
}

// dgp::draw_generalized_normal: Gamma(1/p), then the sign from one uniform.
__device__ __forceinline__ double generalized_normal(State* s, double p) {
  const double g = gamma_draw(s, 1.0 / p);
  const double sign = uniform(s) <= 0.5 ? -1.0 : 1.0;
  return sign * pow(g, 1.0 / p);
}

// Wood (1994): the component of the sample along mu.
__device__ double wood_w(State* s, const LatentReplica& r) {
  for (;;) {
    const double g1 = gamma_draw(s, r.a);
    const double g2 = gamma_draw(s, r.a);
    const double sb = g1 / (g1 + g2);
    const double w = (1.0 - (1.0 + r.b) * sb) / (1.0 - (1.0 - r.b) * sb);
    const double u = uniform(s);
    if (r.kappa * w + r.dm1 * log(1.0 - r.x0 * w) - r.c >= log(u)) return w;
  }
}

__global__ void __launch_bounds__(kThreads)
    sample_latents_kernel(int d, int clusters, const LatentReplica* replicas, const float* centres,
                          uint64_t purpose_bits, uint64_t first, const int64_t* batches_done,
                          int64_t n, float* z, int32_t* labels, int32_t* cluster) {
  const int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (j >= n) return;
  // Read when the kernel runs, so that a replayed graph draws the current step's batch.
  if (batches_done) first += static_cast<uint64_t>(*batches_done) * static_cast<uint64_t>(n);
  const int64_t k = blockIdx.y;
  const LatentReplica& r = replicas[k];
  State st;
  curand_init(r.seed, purpose_bits | ((first + static_cast<uint64_t>(j)) & kStreamIndexMask), 0,
              &st);

  const auto idx = static_cast<uint32_t>((uint64_t{curand(&st)} * r.label_range) >> 32);
  const auto label = static_cast<int32_t>(idx);
  const int32_t cl = r.diet ? static_cast<int32_t>(idx % static_cast<uint32_t>(clusters)) : label;
  const int64_t row = k * n + j;
  labels[row] = label;
  if (cluster != nullptr) cluster[row] = cl;

  const float* c = centres + (k * clusters + cl) * d;
  double mu_ss = 0.0;
  for (int i = 0; i < d; ++i) mu_ss += static_cast<double>(c[i]) * static_cast<double>(c[i]);
  const double mu_norm = sqrt(mu_ss);
  // The CPU's renormalised mu, recomputed where needed instead of stored.
  const auto mu = [=](int i) { return static_cast<double>(c[i]) / mu_norm; };
  float* out = z + row * d;

  State start;
  if (r.conditional == Conditional::VonMisesFisher) {
    const double w = wood_w(&st, r);
    // A unit tangent at mu: d normals minus their component along mu.
    double dot, vn;
    do {
      start = st;
      dot = 0.0;
      for (int i = 0; i < d; ++i) dot += normal(&st) * mu(i);
      const double dt = dot;
      State again = start;
      vn = draw_norm([=](State* s, int i) { return normal(s) - dt * mu(i); }, &again, d);
    } while (!(vn * vn > 1e-20));
    const double rest = 1.0 - w * w;
    const double rr = sqrt(0.0 < rest ? rest : 0.0) / vn;  // the CPU's std::max(0.0, rest)
    const double dt = dot;
    const auto coord = [=](State* s, int i) {
      const double m = mu(i);
      return w * m + rr * (normal(s) - dt * m);
    };
    State again = start;
    const double len = draw_norm(coord, &again, d);
    write_normalised(coord, start, d, len, out);
  } else if (r.conditional == Conditional::TruncatedLaplace) {
    // Not projected: each coordinate as drawn.
    for (int i = 0; i < d; ++i)
      out[i] = static_cast<float>(truncated_laplace(&st, mu(i), r.noise_scale, r.beta));
  } else {
    // Laplace, Normal, GeneralizedNormal: mu plus noise, projected.
    const bool generalized = r.conditional == Conditional::GeneralizedNormal;
    const bool laplace = r.conditional == Conditional::Laplace;
    const double scale = r.noise_scale, p = r.beta;
    const auto coord = [=](State* s, int i) {
      return mu(i) + scale * (generalized ? generalized_normal(s, p) : noise(s, laplace));
    };
    double len;
    do {
      start = st;
      len = draw_norm(coord, &st, d);
    } while (!(len > 0.0));
    write_normalised(coord, start, d, len, out);
  }
}

// Replicas go to grid.y, whose limit is 65535.
void check_replicas(int K, const char* op) {
  if (K > 65535)
    throw InputError(std::string(op) + ": at most 65535 replicas per launch, got " +
                     std::to_string(K));
}

}  // namespace

inline namespace XENT_KERNELS_ABI {

void sample_latents(int K, int d, int clusters, const LatentReplica* replicas, const float* centres,
                    RngPurpose purpose, uint64_t first, const int64_t* batches_done, int64_t n,
                    float* z, int32_t* labels, int32_t* cluster, cudaStream_t stream) {
  if (K <= 0 || n <= 0) return;
  check_replicas(K, "sample_latents");
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > std::numeric_limits<int32_t>::max())
    throw InputError("sample_latents: too many samples for one launch: " + std::to_string(n));
  launch(sample_latents_kernel, dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(K)),
         dim3(kThreads), 0, stream)(d, clusters, replicas, centres, rng_stream(purpose, 0), first,
                                    batches_done, n, z, labels, cluster);
  check_launch("sample_latents_kernel");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
