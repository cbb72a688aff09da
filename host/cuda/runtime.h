// The CUDA runtime the backend is built against: the real one, or the SIMT emulator's under
// CUDA's names (XENT_EMULATED). Errors become xent::DeviceError naming the call.
#pragma once
#if defined(XENT_EMULATED)
#include "simt/simt.h"
#else
#include <cuda_runtime.h>
#endif

#include <string>

#include "xent/error.h"

namespace xent::cuda {

inline void check(cudaError_t e, const char* call) {
  if (e != cudaSuccess)
    throw DeviceError(std::string(call) + " failed: " + cudaGetErrorName(e) + " (" +
                      cudaGetErrorString(e) + ")");
}

}  // namespace xent::cuda

#define XENT_CUDA_CHECK(call) ::xent::cuda::check((call), #call)
