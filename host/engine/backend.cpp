#include "xent/backend.h"

#include <utility>

#include "cpu/cpu_backend.h"
#include "io/cores.h"
#include "xent/error.h"
#if defined(XENT_HAVE_CUDA_BACKEND)
#include <cuda_runtime_api.h>

#include "cuda/cuda_backend.h"
#endif

namespace xent {
namespace {

// Runs the step's calls every time: the CPU backend has nothing to replay.
class EagerStep final : public StepRecording {
 public:
  explicit EagerStep(std::function<void()> record) : record_(std::move(record)) {}
  void run() override { record_(); }

 private:
  std::function<void()> record_;
};

#if defined(XENT_HAVE_CUDA_BACKEND)
std::unique_ptr<Backend> make_cuda(const BackendOptions& o) {
  cuda::CudaOptions c;
  c.tf32 = o.tf32;
  c.graphs = o.graphs;
  c.device = o.device_index;
  if (c.device < 0) {
    // With several GPUs, MPI rank r uses GPU r mod count.
    int count = 0;
    c.device = cudaGetDeviceCount(&count) == cudaSuccess && count > 1 ? o.rank % count : 0;
  }
  return std::make_unique<cuda::CudaBackend>(c);
}
#endif

std::unique_ptr<Backend> make_cpu(const BackendOptions& o) {
  if (o.threads < 0)
    throw InputError("train.threads: must be >= 0, got " + std::to_string(o.threads));
  return std::make_unique<CpuBackend>(o.threads > 0 ? o.threads : usable_cores());
}

}  // namespace

std::unique_ptr<StepRecording> Backend::record_step(std::function<void()> record) {
  return std::make_unique<EagerStep>(std::move(record));
}

std::unique_ptr<Backend> make_backend(const BackendOptions& o) {
  const std::string& device = o.device;
  if (device == "cpu") return make_cpu(o);
#if defined(XENT_HAVE_CUDA_BACKEND)
  if (device == "auto") {
    if (cuda::missing_device().empty()) return make_cuda(o);
    return make_cpu(o);
  }
  if (device == "cuda") {
    if (const std::string why = cuda::missing_device(); !why.empty())
      throw InputError("--device cuda: " + why + " (use --device cpu or auto)");
    return make_cuda(o);
  }
#else
  if (device == "auto") return make_cpu(o);
  if (device == "cuda")
    throw InputError(
        "--device cuda: this build has no CUDA backend (nvcc was not found when it was "
        "configured; use --device cpu or auto)");
#endif
  throw InputError("--device: unknown device '" + device + "' (expected auto, cpu or cuda)");
}

}  // namespace xent
