// cuBLAS on the backend's stream. Built only for the GPU (CMakeLists.txt picks the file).
#include "cuda/blas.h"

#include <cublas_v2.h>

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {
namespace {

void check(cublasStatus_t s, const char* call) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw DeviceError(std::string(call) + " failed: " + cublasGetStatusName(s) + " (" +
                      cublasGetStatusString(s) + ")");
}

class Cublas final : public Blas {
 public:
  Cublas(cudaStream_t stream, bool tf32) {
    check(cublasCreate(&handle_), "cublasCreate");
    check(cublasSetStream(handle_, stream), "cublasSetStream");
    check(cublasSetMathMode(handle_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
          "cublasSetMathMode");
    // A workspace of its own, set once: otherwise cuBLAS may allocate inside a graph capture,
    // which the capture forbids. 32 MiB is NVIDIA's recommendation for Hopper.
    XENT_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
    check(cublasSetWorkspace(handle_, workspace_, kWorkspaceBytes), "cublasSetWorkspace");
  }
  ~Cublas() override {
    cublasDestroy(handle_);
    cudaFree(workspace_);
  }
  Cublas(const Cublas&) = delete;
  Cublas& operator=(const Cublas&) = delete;

  void gemm(const Gemm& g) override {
    check(cublasSgemmStridedBatched(handle_, g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                    g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k, &g.alpha,
                                    g.a, g.lda, g.stride_a, g.b, g.ldb, g.stride_b, &g.beta, g.c,
                                    g.ldc, g.stride_c, g.batch),
          "cublasSgemmStridedBatched");
  }
  std::string name() const override { return "cuBLAS"; }

 private:
  static constexpr size_t kWorkspaceBytes = size_t{32} << 20;
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
};

}  // namespace

std::unique_ptr<Blas> make_blas(cudaStream_t stream, bool tf32) {
  return std::make_unique<Cublas>(stream, tf32);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
