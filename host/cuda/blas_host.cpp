// Under the emulator, device memory is host memory: OpenBLAS computes the GEMMs. Each call is
// enqueued with cudaLaunchHostFunc, so it runs in stream order, and a graph captured on the
// stream replays it. Built only with XENT_EMULATED (CMakeLists.txt picks the file).
#include <cblas.h>

#include <deque>

#include "cuda/blas.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {
namespace {

void run(const Gemm& g) {
  for (int i = 0; i < g.batch; ++i)
    cblas_sgemm(CblasColMajor, g.trans_a ? CblasTrans : CblasNoTrans,
                g.trans_b ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, g.alpha, g.a + i * g.stride_a,
                g.lda, g.b + i * g.stride_b, g.ldb, g.beta, g.c + i * g.stride_c, g.ldc);
}

class HostBlas final : public Blas {
 public:
  explicit HostBlas(cudaStream_t stream) : stream_(stream) {}
  void gemm(const Gemm& g) override {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    XENT_CUDA_CHECK(cudaStreamIsCapturing(stream_, &status));
    if (status == cudaStreamCaptureStatusNone) {
      // Eager: the emulator has run everything issued before, so the call can run now.
      run(g);
      return;
    }
    // Captured: the graph keeps a pointer to the call's arguments for every replay.
    recorded_.push_back(g);
    XENT_CUDA_CHECK(cudaLaunchHostFunc(
        stream_, [](void* p) { run(*static_cast<const Gemm*>(p)); }, &recorded_.back()));
  }
  std::string name() const override { return "OpenBLAS (emulated cuBLAS)"; }

 private:
  cudaStream_t stream_;
  std::deque<Gemm> recorded_;  // stable addresses
};

}  // namespace

std::unique_ptr<Blas> make_blas(cudaStream_t stream, bool) {
  return std::make_unique<HostBlas>(stream);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
