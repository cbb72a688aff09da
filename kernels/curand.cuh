// cuRAND's device API (Philox4_32_10) for kernels, under nvcc and under the emulator alike: the
// host build of these headers gives the device's integers and uniforms bit for bit.
#pragma once
#include "compat.cuh"

#if defined(__CUDACC__)
#include <curand_kernel.h>
#else
// cuRAND's headers are not warning-clean under the project's flags.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <curand_kernel.h>
#pragma GCC diagnostic pop
#endif
