#include "xent/backend.h"

#include "cpu/cpu_backend.h"
#include "xent/error.h"
#if defined(XENT_HAVE_CUDA_BACKEND)
#include "cuda/cuda_backend.h"
#endif

namespace xent {

#if defined(XENT_HAVE_CUDA_BACKEND)
namespace {
std::unique_ptr<Backend> make_cuda(bool tf32) {
  cuda::CudaOptions o;
  o.tf32 = tf32;
  return std::make_unique<cuda::CudaBackend>(o);
}
}  // namespace
#endif

std::unique_ptr<Backend> make_backend(const std::string& device, bool tf32) {
  if (device == "cpu") return std::make_unique<CpuBackend>();
#if defined(XENT_HAVE_CUDA_BACKEND)
  if (device == "auto") {
    if (cuda::missing_device().empty()) return make_cuda(tf32);
    return std::make_unique<CpuBackend>();
  }
  if (device == "cuda") {
    if (const std::string why = cuda::missing_device(); !why.empty())
      throw InputError("--device cuda: " + why + " (use --device cpu or auto)");
    return make_cuda(tf32);
  }
#else
  (void)tf32;
  if (device == "auto") return std::make_unique<CpuBackend>();
  if (device == "cuda")
    throw InputError(
        "--device cuda: this build has no CUDA backend (nvcc was not found when it was "
        "configured; use --device cpu or auto)");
#endif
  throw InputError("--device: unknown device '" + device + "' (expected auto, cpu or cuda)");
}

}  // namespace xent
