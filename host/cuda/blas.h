// The one BLAS call the CUDA backend makes, a strided-batched SGEMM in cuBLAS's column-major
// convention. On a GPU it is cuBLAS; under the SIMT emulator OpenBLAS stands in, enqueued on the
// stream as a host function so that stream order and graph capture behave as on the device.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "cuda/runtime.h"
#include "kernels/api.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {

// C_i = alpha op(A_i) op(B_i) + beta C_i for i < batch, each matrix column-major; op(A) is
// m x k, op(B) is k x n, C is m x n.
struct Gemm {
  bool trans_a = false, trans_b = false;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f, beta = 0.0f;
  const float* a = nullptr;
  int lda = 0;
  int64_t stride_a = 0;
  const float* b = nullptr;
  int ldb = 0;
  int64_t stride_b = 0;
  float* c = nullptr;
  int ldc = 0;
  int64_t stride_c = 0;
  int batch = 1;
};

class Blas {
 public:
  virtual ~Blas() = default;
  virtual void gemm(const Gemm& g) = 0;
  virtual std::string name() const = 0;
};

// tf32: let cuBLAS use TF32 tensor cores (10-bit mantissa products); FP32 otherwise.
std::unique_ptr<Blas> make_blas(cudaStream_t stream, bool tf32);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
