// The CPU twins of the kernels: plain loops and OpenBLAS, the reference every other backend is
// tested against. One op per file (host/cpu/<op>.cpp), named as its kernel.
#pragma once
#include "cpu/thread_pool.h"
#include "xent/backend.h"

namespace xent::cpu {

// linear_forward ... adam: the ops of XENT_TWIN_OPS (include/xent/backend.h), with the Backend's
// arguments and meaning, and last the threads to split them over (one unless given: the
// reference). The CPU backend calls these with its pool; the result is the same bits for any
// pool.
#define XENT_CPU_WITH_POOL(...) (__VA_ARGS__, ThreadPool& pool = ThreadPool::serial())
#define XENT_CPU_TWIN(R, NAME, PARAMS, ARGS) R NAME XENT_CPU_WITH_POOL PARAMS;
XENT_TWIN_OPS(XENT_CPU_TWIN)
#undef XENT_CPU_TWIN
#undef XENT_CPU_WITH_POOL

// Adam's bias corrections at step t (>= 1), the expressions cpu::adam uses. The CUDA backend
// tabulates them on the host with this function, so that both backends use the same bits
// (the device's powf differs from glibc's in the last bit for some steps).
AdamCorrection adam_correction(const AdamParams& a, int64_t t);

}  // namespace xent::cpu
