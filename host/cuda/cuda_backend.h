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
#include "kernels/adam.h"
#include "kernels/sample_latents.h"
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

// Adam's bias corrections for steps 1, 2, ... by the CPU twin's expressions
// (cpu::adam_correction), up to the step from which both are exactly lr and 1 (`saturated`;
// about 18 / (1 - beta2) steps: 18k at the default 0.999) or to max_steps, whichever comes
// first.
struct AdamTable {
  std::vector<AdamCorrection> steps;
  bool saturated = false;
};
AdamTable adam_table(const AdamParams& a, int64_t max_steps = int64_t{1} << 21);

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
  void synchronize() override;
  XENT_OVERRIDE_OPS
  // The recording's first run() calls `record` as it is (allocating what the step needs), the
  // second captures it into a CUDA graph, and every later one replays the graph: one launch per
  // step. It captures again when the backend replaced memory a graph may hold (graph_epoch()).
  std::unique_ptr<StepRecording> record_step(std::function<void()> record) override;

  cudaStream_t stream() const { return stream_; }
  // Counts the times the backend replaced memory that a recorded graph may point at (scratch
  // buffers that grew, the population's DGP table): a graph captured in an earlier epoch is
  // stale.
  uint64_t graph_epoch() const { return graph_epoch_; }
  const CudaOptions& options() const { return options_; }

  // What the last step graph captured on this backend holds (zeros before the first capture):
  // every node, and the kernels among them (cuBLAS's included; the emulator's GEMMs are host
  // nodes). xent_gpu_bench prints them as the launches per step.
  struct GraphCounts {
    size_t nodes = 0, kernels = 0;
  };
  GraphCounts step_graph() const { return step_graph_; }
  void set_step_graph(const GraphCounts& c) { step_graph_ = c; }  // by the step recording

 private:
  // Backend memory that grows to the largest size asked for and is then reused, so that steps
  // after the first allocate nothing.
  void* scratch(size_t slot, size_t bytes);
  const kernels::LatentReplica* replicas(const std::vector<DgpParams>& params,
                                         const std::vector<uint64_t>& seeds);
  // The device copy of adam_table(a), uploaded the first time a's lr and betas are seen and
  // kept for the backend's life (a recorded step holds its pointer; a table is 144 kB at the
  // default betas).
  kernels::AdamCorrections adam_corrections(const AdamParams& a, const int64_t* step);

  CudaOptions options_;
  std::string name_;
  cudaStream_t stream_ = nullptr;
  std::unique_ptr<Blas> blas_;
  std::vector<std::pair<void*, size_t>> scratch_;
  std::vector<kernels::LatentReplica> replicas_host_;
  void* replicas_device_ = nullptr;
  size_t replicas_capacity_ = 0;
  struct DeviceAdamTable {
    float lr, beta1, beta2;
    kernels::AdamCorrections c;
  };
  std::vector<DeviceAdamTable> adam_tables_;
  uint64_t graph_epoch_ = 0;
  GraphCounts step_graph_;
};

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
