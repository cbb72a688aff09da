// A step counter in device memory, advanced in stream order: what lets a captured training step
// replay with the current step number.
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// ++*counter.
void increment(int64_t* counter, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
