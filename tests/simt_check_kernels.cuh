// Kernels for the emulator's race and barrier checker (tests/simt_check_test.cpp runs them;
// tests/simt_kernels.cu compiles them with nvcc too). Most are wrong on purpose, in ways that
// give the right answer under lock-step scheduling, so that only the checker can tell.
#pragma once
#include "../kernels/compat.cuh"

namespace simt_check {

// Each thread stores x[t] and reads its left neighbour's slot, with the barrier missing unless
// kSync. Lock-step order runs thread t - 1 before thread t, so the result is right anyway.
// (A template, not a flag: optimised line tables may give a load next to a branch the branch's
// line.)
constexpr int kShiftWriteLine = __LINE__ + 5;
constexpr int kShiftReadLine = __LINE__ + 6;
template <bool kSync>
__global__ void shift_right(const float* x, float* out) {
  __shared__ float s[256];
  s[threadIdx.x] = x[threadIdx.x];
  if constexpr (kSync) __syncthreads();
  out[threadIdx.x] = threadIdx.x == 0 ? 0.0f : s[threadIdx.x - 1];
}

// Lanes swap values with their neighbour through shared memory, with the __syncwarp missing
// unless kSync: a warp-level hazard, which a block barrier would also have fixed.
constexpr int kSwapWriteLine = __LINE__ + 6;
constexpr int kSwapReadLine = __LINE__ + 7;
template <bool kSync>
__global__ void warp_swap(float* out) {
  __shared__ float s[64];
  const unsigned t = threadIdx.x;
  s[t] = static_cast<float>(t);
  if constexpr (kSync) __syncwarp();
  out[t] = s[t ^ 1u];
}

// The two half-warps each shuffle among themselves and then read a slot of the other half:
// a shuffle orders only the lanes it names, so the read races with the other half's write.
constexpr int kHalvesReadLine = __LINE__ + 7;
__global__ void half_warp_shuffles(float* out) {
  __shared__ float s[32];
  const unsigned lane = threadIdx.x;
  s[lane] = static_cast<float>(lane);
  const unsigned half = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  const float v = __shfl_xor_sync(half, static_cast<float>(lane), 1);
  out[lane] = v + s[lane ^ 16u];
}

// Benign: every thread writes and rereads only its own words, in shared and global memory, and
// after the barrier everyone reads slot 0, which nobody writes again.
__global__ void own_words(const float* x, float* out) {
  __shared__ float s[256];
  const unsigned t = threadIdx.x;
  const unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = x[i];
  s[t] = 2.0f * s[t];
  out[i] = s[t];
  out[i] += 1.0f;
  __syncthreads();
  out[i] += s[0];
}

// Benign: every thread writes its own byte, so that words are shared by threads and, with
// blocks of 3, by blocks; then each reads its own byte back.
__global__ void own_bytes(unsigned char* out) {
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  __shared__ unsigned char s[64];
  s[threadIdx.x] = static_cast<unsigned char>(i);
  out[i] = static_cast<unsigned char>(s[threadIdx.x] + 1);
  out[i] = static_cast<unsigned char>(out[i] + 1);
}

// Wrong on purpose: thread 0 of every block writes the same global word.
constexpr int kEveryBlockWriteLine = __LINE__ + 2;
__global__ void every_block_writes(float* out) {
  if (threadIdx.x == 0) out[0] = static_cast<float>(blockIdx.x);
}

// Wrong on purpose: block 0 publishes a value that the other blocks read in the same launch.
__global__ void read_other_block(float* flag, float* out) {
  if (blockIdx.x == 0 && threadIdx.x == 0) flag[0] = 1.0f;
  if (blockIdx.x != 0 && threadIdx.x == 0) out[blockIdx.x] = flag[0];
}

// Benign: every thread of every block adds to one counter atomically.
__global__ void atomic_count(unsigned* counter) { atomicAdd(counter, 1u); }

// Wrong on purpose (synccheck): a full-mask shuffle in a block of 40 threads, whose second warp
// has 8 lanes, and one after half of a warp has returned.
constexpr int kPartialWarpLine = __LINE__ + 3;
__global__ void full_mask_in_partial_warp(float* out) {
  const float v = static_cast<float>(threadIdx.x);
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 1);
}

constexpr int kAfterReturnLine = __LINE__ + 4;
__global__ void full_mask_after_return(float* out) {
  if (threadIdx.x >= 16) return;
  const float v = static_cast<float>(threadIdx.x);
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 1);
}

// A block sum with both barriers in place, to compare results with the checker on and off.
__global__ void block_sums(const float* x, float* out) {
  __shared__ float s[256];
  const unsigned t = threadIdx.x;
  s[t] = x[blockIdx.x * blockDim.x + t];
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (t < half) s[t] += s[t + half];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

}  // namespace simt_check
