// What every kernels/<op>.h needs: the shapes of the backend's ops, a stream type that does
// not pull in a CUDA header, and the namespace the launchers live in.
//
// A launcher is a thin host function: it checks nothing the caller already guarantees, launches
// on the given stream and never synchronises. Launch failures throw xent::DeviceError naming
// the kernel (kernels/check.cuh).
//
// The same kernel source is compiled twice: by nvcc for the GPU, and by g++ for the SIMT
// emulator (targets that define XENT_EMULATED). Each build's launchers get their own inline
// namespace, so one binary may link both without one silently replacing the other.
#pragma once
#include "xent/op_shapes.h"

// cuda_runtime_api.h spells it the same way; repeating an identical typedef is allowed.
struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

// Every kernels/<op>.h and kernels/<op>.cu wraps its launchers in
//   namespace xent::kernels {
//   inline namespace XENT_KERNELS_ABI {
#if defined(XENT_EMULATED)
#define XENT_KERNELS_ABI emulated
#else
#define XENT_KERNELS_ABI device
#endif
