// Launch and runtime error checks for the launchers: CUDA's error becomes xent::DeviceError
// naming the kernel or call. Included by kernels/*.cu after compat.cuh, so that under the
// emulator the runtime calls are the emulator's.
#pragma once
#include <string>

#include "api.h"
#include "xent/error.h"

namespace xent::kernels {
// The build's own namespace (api.h): the nvcc and the emulated copies of this inline function
// call different runtimes, and one binary (xent_tests) links both, which would otherwise keep one
// copy for both builds' launchers.
inline namespace XENT_KERNELS_ABI {

// After a launch: reports a bad configuration (grid, block, shared memory) at once. Errors
// inside the kernel surface at the next synchronising call, as CUDA reports them.
inline void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw DeviceError(std::string("launch of ") + kernel + " failed: " + cudaGetErrorName(e) +
                      " (" + cudaGetErrorString(e) + ")");
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
