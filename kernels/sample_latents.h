// The DGP's latent samples on the device for K replicas in one launch, reproducing
// xent::sample_latents (host/cpu/sample_latents.cpp) draw for draw. The cluster centres are drawn
// once per replica on the host (host/dgp/centres.cpp) and uploaded.
#pragma once
#include "api.h"
#include "xent/dgp.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// One replica's DGP as the kernels read it: its seed and the constants that depend only on
// DgpParams, checked and computed on the host by xent::cuda::latent_replica
// (host/cuda/cuda_backend.h) with the CPU sampler's own check and Wood constants, so they are
// the same bits on every target. Plain data: an array of them lives in device memory.
struct LatentReplica {
  uint64_t seed;
  uint32_t label_range;  // M of the label draw: clusters (supervised) or instances (DIET)
  bool diet;
  Conditional conditional;
  double noise_scale;  // kappa / 10, for every conditional but vMF
  double beta;  // DgpParams::beta: the truncated Laplace's bound, the generalized normal's shape
  // Wood (1994) for vMF(kappa) on S^(d-1): kappa, d - 1, b, x0, c and the Beta shape a.
  double kappa, dm1, b, x0, c, a;
};

// Backend::sample_latents: K replicas sharing d and clusters, replica k described by
// replicas[k], a DEVICE pointer to K LatentReplica that the caller uploads once (the kernel only
// reads it, so it may stay in place across launches and CUDA graph replays). centres
// [K][clusters][d], each row finite and nonzero (the CPU throws otherwise; here such a row
// gives NaN latents). z [K][n][d],
// labels [K][n], cluster [K][n] or null. Sample j of every replica uses stream
// rng_stream(purpose, first + j) under that replica's seed, plus *batches_done * n when
// batches_done (device memory, read when the kernel runs) is given.
void sample_latents(int K, int d, int clusters, const LatentReplica* replicas, const float* centres,
                    RngPurpose purpose, uint64_t first, const int64_t* batches_done, int64_t n,
                    float* z, int32_t* labels, int32_t* cluster, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
