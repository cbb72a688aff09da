// The Backend on a GPU: the kernels of kernels/ for every op, GEMMs through cuBLAS
// (strided-batched over the population), all work in order on one stream of the backend's own,
// no synchronisation except where a result reaches the host (download, probe).
//
// Compiled twice, like the kernels: for the GPU, and with XENT_EMULATED against the SIMT
// emulator with OpenBLAS standing in for cuBLAS, so that the whole backend runs in CI.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuda/blas.h"
#include "cuda/runtime.h"
#include "kernels/latents.h"
#include "xent/backend.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {

struct CudaOptions {
  int device = 0;
  bool tf32 = false;   // TF32 tensor cores in the GEMMs (FP32 by default)
  bool graphs = true;  // replay training steps as a CUDA graph (false: launch every op)
};

// Whether a device can run the backend; otherwise why not (for --device auto and error messages).
std::string missing_device();

// Replica `seed` of p as the latent kernels read it. Throws InputError where the CPU sampler
// would (the same check, host/dgp/internal.h), and takes Wood's constants from the same
// function, so that both backends draw with the same bits.
kernels::LatentReplica latent_replica(const DgpParams& p, uint64_t seed);

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(const CudaOptions& options = {});
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override;
  void* allocate(size_t bytes) override;
  void release(void* p) override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void download(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) override;
  void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                       float* dx, float* dw, float* db) override;
  void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* gamma,
                                   const float* beta, float* a, float* mean, float* rstd,
                                   float* running_mean, float* running_var) override;
  void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float* a) override;
  void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* a,
                              const float* gamma, const float* mean, const float* rstd,
                              const float* da, float* dh, float* dgamma, float* dbeta) override;
  void normalize_rows_forward(int64_t rows, int width, const float* x, float* y,
                              float* norms) override;
  void normalize_rows_backward(int64_t rows, int width, const float* y, const float* norms,
                               const float* dy, float* dx) override;
  void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* loss,
                    float* correct, bool grad) override;
  void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
            const int64_t* step) override;
  void sample_latents(const std::vector<DgpParams>& params, const std::vector<uint64_t>& seeds,
                      const float* centres, RngPurpose purpose, uint64_t first,
                      const int64_t* batches_done, int64_t n, float* z, int32_t* labels,
                      int32_t* cluster) override;
  void render_sprites(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                      int64_t period, int64_t n, float* images, int32_t* labels) override;
  void increment(int64_t* counter) override;
  // The first call runs `record` as it is (allocating what the step needs), the second captures
  // it into a CUDA graph, and every later call replays the graph: one launch per step.
  void run_step(const std::function<void()>& record) override;
  void mixing_forward(int K, int layers, int d, const float* weights, const float* z, int64_t n,
                      float* x) override;
  ProbeResult probe(const float* features, int64_t n, int p, const float* targets, int q,
                    double split, double scale) override;

  cudaStream_t stream() const { return stream_; }

 private:
  // Backend memory that grows to the largest size asked for and is then reused, so that steps
  // after the first allocate nothing.
  void* scratch(size_t slot, size_t bytes);
  void drop_step_graph();
  const kernels::LatentReplica* replicas(const std::vector<DgpParams>& params,
                                         const std::vector<uint64_t>& seeds);

  CudaOptions options_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Blas> blas_;
  std::vector<std::pair<void*, size_t>> scratch_;
  std::vector<kernels::LatentReplica> replicas_host_;
  void* replicas_device_ = nullptr;
  size_t replicas_capacity_ = 0;
  int64_t step_calls_ = 0;  // run_step calls since the graph was last dropped
  cudaGraph_t step_graph_ = nullptr;
  cudaGraphExec_t step_exec_ = nullptr;
};

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
