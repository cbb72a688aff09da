// The synthetic data generating process of the paper (docs/paper.md).
//
// Its frozen parts, drawn on the host once per replica (draw_centres, draw_mixing, and the
// mixing diagnostics), are host/dgp/'s. The per-sample draw and the mixing forward pass are the
// CPU backend's ops (host/cpu/sample_latents.cpp, host/cpu/mixing.cpp), twins of
// kernels/sample_latents.cu and kernels/mixing.cu.
//
// Random numbers: every draw comes from Philox4x32-10 keyed by the replica's seed, with a
// stream (curand's "subsequence") per purpose and sample, so that a CUDA kernel calling
// curand_init(seed, stream, 0, &state) reproduces the uniforms bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace xent {

enum class CentreDist { Uniform, Laplace, Normal };
// The conditional around a sample's cluster vector mu. Laplace, Normal, GeneralizedNormal: mu plus
// noise of scale kappa/10, projected onto the sphere. TruncatedLaplace: mu plus Laplace noise of
// scale kappa/10 with each coordinate truncated to [-beta, beta], not projected (the reference
// code's --c-p 3; Laplace is its 1, Normal 2, GeneralizedNormal 4).
enum class Conditional { VonMisesFisher, Laplace, Normal, TruncatedLaplace, GeneralizedNormal };
enum class LabelMode { Supervised, Diet };

struct DgpParams {
  int d = 5;           // latent dimension; latents live on S^(d-1)
  int clusters = 100;  // |C|
  CentreDist centres = CentreDist::Uniform;
  double centre_scale = 1.0;  // scale of the Laplace / Normal around e1
  Conditional conditional = Conditional::VonMisesFisher;
  double kappa = 10.0;  // vMF concentration; Laplace/Normal conditionals use scale kappa/10
  // TruncatedLaplace: the bound of every coordinate; GeneralizedNormal: the shape p of the
  // density exp(-|x / scale|^p) (the reference's --beta-param, default 2).
  double beta = 2.0;
  LabelMode labels = LabelMode::Supervised;
  int64_t instances = 1000;  // N: DIET classes; index i has cluster i mod |C|
  int mixing_layers = 4;
  int mixing_cond_draws = 25000;  // draws that set the condition-number threshold
  // Frozen parts read from .npy files instead of drawn (empty: drawn from the seed), for
  // example another code's, so that only the trainer differs: float32 or float64, centres
  // [clusters][d] of unit norm, mixing [mixing_layers][d][d] as draw_mixing's. Every replica
  // reads the same file; its seed still draws the samples and the encoder.
  std::string centres_file;
  std::string mixing_file;
  // Number of classes the head predicts: |C| when supervised, N for DIET.
  int64_t classes() const { return labels == LabelMode::Supervised ? clusters : instances; }
};

// Stream purposes: the top bits of the Philox stream, so draws for different purposes never
// share counters. A sample's stream is (purpose << 56) | index.
enum class RngPurpose : uint64_t { Centres = 1, Mixing = 2, Train = 3, Eval = 4, Init = 5 };
inline uint64_t rng_stream(RngPurpose p, uint64_t index) {
  return (static_cast<uint64_t>(p) << 56) | (index & ((uint64_t{1} << 56) - 1));
}

// Cluster centres, [clusters][d], unit norm. Drawn once per replica on the host (read from
// p.centres_file where it is set).
std::vector<float> draw_centres(const DgpParams& p, uint64_t seed);

// Mixing MLP weights, [layers][d][d] row-major (x_out = W x_in), each matrix U(-1,1) with
// L2-normalised columns and condition number at most the minimum over mixing_cond_draws
// draws. Drawn once per replica on the host, on `threads` threads (0: every core this process
// may use); the weights are the same for any thread count. Read from p.mixing_file where it is
// set.
std::vector<float> draw_mixing(const DgpParams& p, uint64_t seed, int threads = 0);

// The mixing weights of a population, replica k's from ps[k] and seeds[k]: the same as
// draw_mixing(ps[k], seeds[k]), drawn together so that a population larger than the thread
// count keeps every thread busy as well as a single replica does.
std::vector<std::vector<float>> draw_mixing_population(const std::vector<DgpParams>& ps,
                                                       const std::vector<uint64_t>& seeds,
                                                       int threads = 0);

// Samples n latents for one replica. Sample j uses stream rng_stream(purpose, first + j).
//   z [n][d]: unit-norm latents; labels [n]: class in [0, classes()); cluster [n] (may be
//   null): the cluster index of each sample.
void sample_latents(const DgpParams& p, const float* centres, uint64_t seed, RngPurpose purpose,
                    uint64_t first, int64_t n, float* z, int32_t* labels, int32_t* cluster);

// x = g(z): layers of x <- W_l x with LeakyReLU(0.2) between layers, none after the last.
void mixing_forward(const float* weights, int layers, int d, const float* z, int64_t n, float* x);

// The inverse of mixing_forward (for tests and diagnostics), in double precision.
void mixing_inverse(const float* weights, int layers, int d, const float* x, int64_t n, double* z);

// What `xent sample` writes and xent.sample returns: the first n samples of a replica's
// training stream (RngPurpose::Train from index 0: the latents of its first training steps),
// with the frozen parts they came from. Row-major: z, x [n][d]; centres [clusters][d]; mixing
// [layers][d][d].
struct DgpSamples {
  std::vector<float> z, x, centres, mixing;
  std::vector<int32_t> labels, clusters;
};
DgpSamples draw_samples(const DgpParams& p, uint64_t seed, int64_t n);

// Condition number (largest / smallest singular value) of a d x d row-major matrix.
double condition_number(const double* a, int d);

}  // namespace xent
