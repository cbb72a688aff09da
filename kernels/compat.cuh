// The one header a kernel includes. Under nvcc it is plain CUDA. Under g++ it turns the same
// source into host code that the SIMT emulator (tests/simt) runs: the CUDA qualifiers become
// host constructs, the built-in variables and warp/block operations become the emulator's, and
// the fast-math intrinsics become their libm counterparts.
//
// Also here, for both compilers:
//   xent::launch(kernel, grid, block, shared_bytes, stream)(args...)
//       instead of kernel<<<grid, block, shared_bytes, stream>>>(args...)
//   XENT_DYNAMIC_SHARED(type, name);
//       instead of extern __shared__ type name[]; `name` is a type* either way
//
// Under g++ this header must be included before any CUDA header (it defines the qualifiers those
// headers would otherwise define); after it, <curand_kernel.h> works as on the device.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

// One extern array of one type for every kernel of a translation unit: nvcc rejects the same
// extern __shared__ name declared with two element types.
#define XENT_DYNAMIC_SHARED(type, name)                                \
  extern __shared__ __align__(16) unsigned char xent_dynamic_shared[]; \
  type* const name = reinterpret_cast<type*>(xent_dynamic_shared)

namespace xent {

template <typename... Params>
class Launch {
 public:
  Launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream)
      : kernel_(kernel), grid_(grid), block_(block), shared_(shared_bytes), stream_(stream) {}
  void operator()(Params... args) const { kernel_<<<grid_, block_, shared_, stream_>>>(args...); }

 private:
  void (*kernel_)(Params...);
  dim3 grid_, block_;
  size_t shared_;
  cudaStream_t stream_;
};

template <typename... Params>
Launch<Params...> launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes = 0,
                         cudaStream_t stream = 0) {
  return Launch<Params...>(kernel, grid, block, shared_bytes, stream);
}

}  // namespace xent

#else  // the SIMT emulator

// Standard headers first: some of them spell attributes that the CUDA macros below would change.
#include <math.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__HOST_DEFINES_H__)
#error "kernels/compat.cuh must be included before any CUDA header"
#endif

// The qualifiers, before the CUDA headers define them as no-ops. A __shared__ variable is a
// static in the kernel: thread_local, because each worker thread runs one block at a time, so
// per thread is per block.
#define __global__
#define __device__
#define __host__
#define __shared__ static thread_local
#define __launch_bounds__(...)

#include "../tests/simt/simt.h"  // renames the runtime calls, then includes <cuda_runtime.h>

// The built-in variables, as calls that read the fiber's thread-locals. The spelling matters:
// curand_mtgp32_kernel.h declares `extern const uint3 threadIdx;` for host compilers, which
// through these macros becomes a harmless redeclaration of the function below (a const struct
// returned by value) instead of a conflicting variable.
inline const uint3 xent_simt_threadIdx() { return xent::simt::tls_thread_idx; }
inline const uint3 xent_simt_blockIdx() { return xent::simt::tls_block_idx; }
inline const dim3 xent_simt_blockDim() { return xent::simt::tls_block_dim; }
inline const dim3 xent_simt_gridDim() { return xent::simt::tls_grid_dim; }
#define threadIdx xent_simt_threadIdx()
#define blockIdx xent_simt_blockIdx()
#define blockDim xent_simt_blockDim()
#define gridDim xent_simt_gridDim()
inline constexpr int warpSize = 32;

#define XENT_DYNAMIC_SHARED(type, name) \
  type* const name = reinterpret_cast<type*>(::xent::simt::tls_dynamic_shared)

// Switch points carry their call site for the emulator's diagnostics. No comma outside
// parentheses in the expansion: CUDA's own macros (NV_IF_TARGET) pass these on as arguments.
#define XENT_SIMT_AT ::xent::simt::At(__FILE__, __LINE__)
#define __syncthreads() XENT_SIMT_AT.syncthreads()
#define __syncthreads_count(p) XENT_SIMT_AT.syncthreads_count(p)
#define __syncthreads_and(p) XENT_SIMT_AT.syncthreads_and(p)
#define __syncthreads_or(p) XENT_SIMT_AT.syncthreads_or(p)
#define __syncwarp(...) XENT_SIMT_AT.syncwarp(__VA_ARGS__)
#define __shfl_sync(...) XENT_SIMT_AT.shfl(__VA_ARGS__)
#define __shfl_up_sync(...) XENT_SIMT_AT.shfl_up(__VA_ARGS__)
#define __shfl_down_sync(...) XENT_SIMT_AT.shfl_down(__VA_ARGS__)
#define __shfl_xor_sync(...) XENT_SIMT_AT.shfl_xor(__VA_ARGS__)
#define __ballot_sync(mask, p) XENT_SIMT_AT.ballot(mask, p)
#define __any_sync(mask, p) XENT_SIMT_AT.any(mask, p)
#define __all_sync(mask, p) XENT_SIMT_AT.all(mask, p)
#define __reduce_add_sync(mask, v) XENT_SIMT_AT.reduce_add(mask, v)
#define __reduce_min_sync(mask, v) XENT_SIMT_AT.reduce_min(mask, v)
#define __reduce_max_sync(mask, v) XENT_SIMT_AT.reduce_max(mask, v)
#define __reduce_and_sync(mask, v) XENT_SIMT_AT.reduce_and(mask, v)
#define __reduce_or_sync(mask, v) XENT_SIMT_AT.reduce_or(mask, v)
#define __reduce_xor_sync(mask, v) XENT_SIMT_AT.reduce_xor(mask, v)
inline unsigned __activemask() { return ::xent::simt::active_mask(); }

// Memory fences and atomics. Blocks run concurrently on worker threads, so atomics are real
// (sequentially consistent: the strongest CUDA ordering, never weaker than a kernel expects);
// the fibers of one block share an OS thread and never interleave inside one.
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

namespace xent::simt {

// Read-modify-write through compare-and-swap. The generic builtins compare bit patterns, so a
// float holding NaN or -0.0 still terminates the loop.
template <typename T, typename F>
T atomic_update(T* address, F f) {
  T old;
  __atomic_load(address, &old, __ATOMIC_SEQ_CST);
  T next;
  do {
    next = f(old);
  } while (
      !__atomic_compare_exchange(address, &old, &next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
  return old;
}

}  // namespace xent::simt

inline int atomicAdd(int* a, int v) { return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAdd(unsigned* a, unsigned v) {
  return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) {
  return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);
}
inline float atomicAdd(float* a, float v) {
  return xent::simt::atomic_update(a, [v](float x) { return x + v; });
}
inline double atomicAdd(double* a, double v) {
  return xent::simt::atomic_update(a, [v](double x) { return x + v; });
}
inline int atomicSub(int* a, int v) { return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicSub(unsigned* a, unsigned v) {
  return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);
}
inline int atomicMax(int* a, int v) {
  return xent::simt::atomic_update(a, [v](int x) { return x > v ? x : v; });
}
inline unsigned atomicMax(unsigned* a, unsigned v) {
  return xent::simt::atomic_update(a, [v](unsigned x) { return x > v ? x : v; });
}
inline unsigned long long atomicMax(unsigned long long* a, unsigned long long v) {
  return xent::simt::atomic_update(a, [v](unsigned long long x) { return x > v ? x : v; });
}
inline int atomicMin(int* a, int v) {
  return xent::simt::atomic_update(a, [v](int x) { return x < v ? x : v; });
}
inline unsigned atomicMin(unsigned* a, unsigned v) {
  return xent::simt::atomic_update(a, [v](unsigned x) { return x < v ? x : v; });
}
inline unsigned long long atomicMin(unsigned long long* a, unsigned long long v) {
  return xent::simt::atomic_update(a, [v](unsigned long long x) { return x < v ? x : v; });
}
inline int atomicAnd(int* a, int v) { return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicAnd(unsigned* a, unsigned v) {
  return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);
}
inline int atomicOr(int* a, int v) { return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicOr(unsigned* a, unsigned v) {
  return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);
}
inline int atomicXor(int* a, int v) { return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicXor(unsigned* a, unsigned v) {
  return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);
}
template <typename T>
T xent_simt_cas(T* a, T compare, T value) {
  __atomic_compare_exchange_n(a, &compare, value, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  return compare;  // the old value, whether or not it matched
}
inline int atomicCAS(int* a, int c, int v) { return xent_simt_cas(a, c, v); }
inline unsigned atomicCAS(unsigned* a, unsigned c, unsigned v) { return xent_simt_cas(a, c, v); }
inline unsigned long long atomicCAS(unsigned long long* a, unsigned long long c,
                                    unsigned long long v) {
  return xent_simt_cas(a, c, v);
}
inline unsigned short atomicCAS(unsigned short* a, unsigned short c, unsigned short v) {
  return xent_simt_cas(a, c, v);
}
inline int atomicExch(int* a, int v) { return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST); }
inline unsigned atomicExch(unsigned* a, unsigned v) {
  return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);
}
inline unsigned long long atomicExch(unsigned long long* a, unsigned long long v) {
  return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);
}
inline float atomicExch(float* a, float v) {
  return xent::simt::atomic_update(a, [v](float) { return v; });
}

// Intrinsics. The fast-math ones compute the accurate libm result: the device's approximations
// differ in the last bits (__expf, __logf: ~2 ulp; rsqrtf: ~2 ulp), so compare emulated and GPU
// results with a tolerance, never bit for bit. glibc itself declares __expf, __logf, __sinf,
// __cosf, __powf, __log2f, __log10f and __sincosf, hence macros for those, defined after
// <math.h> so that its declarations keep their names.
#define __expf(x) ::xent::simt::fast_expf(x)
#define __exp10f(x) ::xent::simt::fast_exp10f(x)
#define __logf(x) ::xent::simt::fast_logf(x)
#define __log2f(x) ::xent::simt::fast_log2f(x)
#define __log10f(x) ::xent::simt::fast_log10f(x)
#define __powf(x, y) ::xent::simt::fast_powf(x, y)
#define __sinf(x) ::xent::simt::fast_sinf(x)
#define __cosf(x) ::xent::simt::fast_cosf(x)
#define __tanf(x) ::xent::simt::fast_tanf(x)
#define __sincosf(x, s, c) ::xent::simt::fast_sincosf(x, s, c)

namespace xent::simt {
inline float fast_expf(float x) { return std::exp(x); }
inline float fast_exp10f(float x) { return std::pow(10.0f, x); }
inline float fast_logf(float x) { return std::log(x); }
inline float fast_log2f(float x) { return std::log2(x); }
inline float fast_log10f(float x) { return std::log10(x); }
inline float fast_powf(float x, float y) { return std::pow(x, y); }
inline float fast_sinf(float x) { return std::sin(x); }
inline float fast_cosf(float x) { return std::cos(x); }
inline float fast_tanf(float x) { return std::tan(x); }
inline void fast_sincosf(float x, float* s, float* c) {
  *s = std::sin(x);
  *c = std::cos(x);
}
}  // namespace xent::simt

inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline double __drcp_rn(double x) { return 1.0 / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; }  // NaN -> 0
inline float normcdff(float x) { return 0.5f * std::erfc(-x * 0.70710678118654752f); }

inline int __float_as_int(float x) { return xent::simt::from_bits<int>(xent::simt::to_bits(x)); }
inline unsigned __float_as_uint(float x) {
  return xent::simt::from_bits<unsigned>(xent::simt::to_bits(x));
}
inline float __int_as_float(int x) { return xent::simt::from_bits<float>(xent::simt::to_bits(x)); }
inline float __uint_as_float(unsigned x) {
  return xent::simt::from_bits<float>(xent::simt::to_bits(x));
}
inline long long __double_as_longlong(double x) {
  return xent::simt::from_bits<long long>(xent::simt::to_bits(x));
}
inline double __longlong_as_double(long long x) {
  return xent::simt::from_bits<double>(xent::simt::to_bits(x));
}
inline int __float2int_rn(float x) { return static_cast<int>(std::nearbyint(x)); }
inline int __float2int_rz(float x) { return static_cast<int>(x); }
inline int __float2int_rd(float x) { return static_cast<int>(std::floor(x)); }
inline int __float2int_ru(float x) { return static_cast<int>(std::ceil(x)); }
inline unsigned __float2uint_rn(float x) { return static_cast<unsigned>(std::nearbyint(x)); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }
inline float __uint2float_rn(unsigned x) { return static_cast<float>(x); }

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  x = ((x >> 8) & 0x00ff00ffu) | ((x & 0x00ff00ffu) << 8);
  return (x >> 16) | (x << 16);
}
inline unsigned __umulhi(unsigned a, unsigned b) {
  return static_cast<unsigned>((uint64_t{a} * b) >> 32);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  __extension__ typedef unsigned __int128 u128;
  return static_cast<unsigned long long>((static_cast<u128>(a) * b) >> 64);
}
inline int __mul24(int a, int b) { return a * b; }
template <typename T>
T __ldg(const T* p) {
  return *p;
}

// CUDA's device min/max overloads for the integer types (floats have fminf/fmaxf).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }

// The runtime's C++ overload for a kernel pointer, which cuda_runtime.h offers only to nvcc.
template <typename T>
cudaError_t cudaFuncSetAttribute(T* kernel, cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void*>(kernel), attr, value);
}

namespace xent {

// The launch: kernel<<<grid, block, shared_bytes, stream>>>(args...) as
// xent::launch(kernel, grid, block, shared_bytes, stream)(args...). The arguments convert to the
// kernel's parameter types at the call, as in a real launch, and every emulated thread gets its
// own copy of them.
template <typename... Params>
class Launch {
 public:
  Launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes, cudaStream_t stream,
         simt::Site site)
      : kernel_(kernel) {
    params_.grid = grid;
    params_.block = block;
    params_.shared_bytes = shared_bytes;
    params_.stream = stream;
    params_.kernel = reinterpret_cast<const void*>(kernel);
    params_.site = site;
  }
  void operator()(Params... args) const {
    simt::launch(params_, [kernel = kernel_, packed = std::tuple<Params...>(args...)] {
      std::apply(kernel, packed);
    });
  }

 private:
  void (*kernel_)(Params...);
  simt::LaunchParams params_;
};

template <typename... Params>
Launch<Params...> launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes = 0,
                         cudaStream_t stream = 0, const char* file = __builtin_FILE(),
                         int line = __builtin_LINE()) {
  return Launch<Params...>(kernel, grid, block, shared_bytes, stream, simt::Site{file, line});
}

}  // namespace xent

#endif  // __CUDACC__
