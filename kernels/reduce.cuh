// Warp and block reductions, xent's own: CUB's use inline PTX that the emulator cannot run.
// Each combines in a fixed order for a given block size, so results are deterministic.
#pragma once
#include "compat.cuh"

namespace xent::kernels {

constexpr unsigned kFullMask = 0xffffffffu;

struct Sum {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return a + b;
  }
};

struct Max {
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Butterfly over the full warp: every lane returns the warp's total.
template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// Every thread of the block returns the block's total. blockDim.x must be a multiple of 32 (the
// launchers use 128, 256 or 512), blockDim.y == blockDim.z == 1. `partial` is shared memory
// for 32 values; it may be reused as soon as this returns (the final barrier guards it).
template <typename T, typename Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T identity, T* partial) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned warp = threadIdx.x / 32;
  v = warp_reduce(v, op);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  // Every warp reduces the partials itself: no broadcast step, and the same order in each.
  v = warp_reduce(lane < blockDim.x / 32 ? partial[lane] : identity, op);
  __syncthreads();
  return v;
}

}  // namespace xent::kernels
