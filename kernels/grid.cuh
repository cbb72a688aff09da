// Grids for the launchers whose kernels loop over their items (grid-stride loops): such a grid
// is sized to the device, not to the data, so the launchers ask the device how many SMs it has.
// Included by kernels/*.cu after compat.cuh, so that under the emulator the runtime calls are
// the emulator's (which reports a fixed SM count, tests/simt/runtime.cpp).
//
// Only kernels whose every output is one thread's work, whichever thread that is, size their
// grids this way: a grid-stride loop then gives the same bits on a device of any size.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include "api.h"
#include "xent/error.h"

namespace xent::kernels {
// The build's own namespace (api.h): the nvcc and the emulated copies of these inline functions
// call different runtimes, and one binary may link both.
inline namespace XENT_KERNELS_ABI {

// The SM count of the calling thread's current device, the one its launches run on. Asked of
// the runtime once per host thread and device, not at every launch.
inline int multiprocessors() {
  thread_local int cached_device = -1;
  thread_local int cached_count = 0;
  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess && device != cached_device) {
    e = cudaDeviceGetAttribute(&cached_count, cudaDevAttrMultiProcessorCount, device);
    if (e == cudaSuccess) cached_device = device;
  }
  if (e != cudaSuccess)
    throw DeviceError(std::string("asking the device for its SM count failed: ") +
                      cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  return cached_count;
}

// Blocks for a grid-stride loop over `items`, `per_block` of them per block in each pass: enough
// to cover them in one pass, and no more than one full wave of the device. Every caller runs
// blocks of 256 threads, and 8 of those are the 2048 threads an sm_90 SM holds at once: blocks
// beyond that wave would only queue behind it.
inline unsigned stride_blocks(int64_t items, int64_t per_block) {
  constexpr int64_t kBlocksPerSm = 8;
  const int64_t cover = (items + per_block - 1) / per_block;
  return static_cast<unsigned>(std::min(cover, kBlocksPerSm * multiprocessors()));
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
