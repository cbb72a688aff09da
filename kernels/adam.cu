// Fused Adam. Memory-bound: four streams in, three out, so each thread moves float4s where the
// buffers allow and a grid-stride loop keeps the grid at the machine's size, not the model's.
#include "compat.cuh"
//
#include <cmath>

#include "adam.h"
#include "check.cuh"
#include "grid.cuh"

namespace xent::kernels {
namespace {

struct AdamScalars {
  float beta1, beta2, eps;
  AdamCorrection c;
};

// The corrections of the step the kernel runs (kernels/adam.h).
__device__ __forceinline__ AdamCorrection corrections(const AdamParams& a,
                                                      const AdamCorrections& c) {
  if (!c.step) return c.now;
  const int64_t t = *c.step;
  if (c.steps > 0 && (t <= c.steps || c.saturated))
    return c.table[t < 1 ? 0 : (t < c.steps ? t : c.steps) - 1];
  // Past an unsaturated table: the CPU twin's expressions with the device's powf.
  const auto ft = static_cast<float>(t);
  return {a.lr / (1.0f - powf(a.beta1, ft)), sqrtf(1.0f - powf(a.beta2, ft))};
}

__device__ __forceinline__ void adam_one(float& p, float g, float& m, float& v,
                                         const AdamScalars& a) {
  // The CPU twin's expression, term for term, so that both round alike.
  m = a.beta1 * m + (1.0f - a.beta1) * g;
  v = a.beta2 * v + (1.0f - a.beta2) * g * g;
  p -= a.c.step_size * m / (sqrtf(v) / a.c.bc2_sqrt + a.eps);
}

__global__ void adam_vec4(int64_t n4, float4* param, const float4* grad, float4* m, float4* v,
                          AdamParams ap, AdamCorrections c) {
  const AdamScalars a{ap.beta1, ap.beta2, ap.eps, corrections(ap, c)};
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n4;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float4 p = param[i], mi = m[i], vi = v[i];
    const float4 g = grad[i];
    adam_one(p.x, g.x, mi.x, vi.x, a);
    adam_one(p.y, g.y, mi.y, vi.y, a);
    adam_one(p.z, g.z, mi.z, vi.z, a);
    adam_one(p.w, g.w, mi.w, vi.w, a);
    param[i] = p;
    m[i] = mi;
    v[i] = vi;
  }
}

__global__ void adam_scalar(int64_t n, float* param, const float* grad, float* m, float* v,
                            AdamParams ap, AdamCorrections c) {
  const AdamScalars a{ap.beta1, ap.beta2, ap.eps, corrections(ap, c)};
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    adam_one(param[i], grad[i], m[i], v[i], a);
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

}  // namespace

inline namespace XENT_KERNELS_ABI {

void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
          const AdamCorrections& c, cudaStream_t stream) {
  if (n <= 0) return;
  constexpr int kThreads = 256;
  const bool vec = aligned16(param) && aligned16(grad) && aligned16(m) && aligned16(v);
  const int64_t n4 = vec ? n / 4 : 0;
  if (n4 > 0) {
    launch(adam_vec4, dim3(stride_blocks(n4, kThreads)), dim3(kThreads), 0, stream)(
        n4, reinterpret_cast<float4*>(param), reinterpret_cast<const float4*>(grad),
        reinterpret_cast<float4*>(m), reinterpret_cast<float4*>(v), a, c);
    check_launch("adam_vec4");
  }
  const int64_t tail = n - 4 * n4;
  if (tail > 0) {
    const int64_t off = 4 * n4;
    launch(adam_scalar, dim3(stride_blocks(tail, kThreads)), dim3(kThreads), 0, stream)(
        tail, param + off, grad + off, m + off, v + off, a, c);
    check_launch("adam_scalar");
  }
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
