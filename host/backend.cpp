#include "xent/backend.h"

#include "cpu/cpu_backend.h"
#include "xent/error.h"

namespace xent {

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu" || device == "auto") return std::make_unique<CpuBackend>();
  if (device == "cuda")
    throw InputError(
        "--device cuda: this build has no CUDA backend yet (use --device cpu or auto)");
  throw InputError("--device: unknown device '" + device + "' (expected auto, cpu or cuda)");
}

}  // namespace xent
