// The reference backend: host memory, OpenBLAS GEMMs and the loops in host/cpu/<op>.cpp.
#include "cpu/cpu_backend.h"

#include <cblas.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/ops.h"

namespace xent {

CpuBackend::CpuBackend() {
  // The encoder's GEMMs are small (1024 x 250 x 250): a second BLAS thread measured no faster
  // and spent its time spinning in the kernel. One thread, unless the user says otherwise.
  if (!std::getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
}

void* CpuBackend::allocate(size_t bytes) {
  // 64-byte alignment keeps OpenBLAS and vectorised loops on aligned loads.
  void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!p) throw std::bad_alloc();
  return p;
}
void CpuBackend::release(void* p) { std::free(p); }
void CpuBackend::upload(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
  std::memcpy(dst, src, bytes);
}
void CpuBackend::zero(void* dst, size_t bytes) { std::memset(dst, 0, bytes); }
void CpuBackend::copy(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }

// The twin ops are the kernels' CPU twins as they are.
#define XENT_CPU_FORWARD(R, NAME, PARAMS, ARGS) \
  R CpuBackend::NAME PARAMS { return cpu::NAME ARGS; }
XENT_TWIN_OPS(XENT_CPU_FORWARD)
#undef XENT_CPU_FORWARD

void CpuBackend::sample_latents(const std::vector<DgpParams>& params,
                                const std::vector<uint64_t>& seeds, const float* centres,
                                RngPurpose purpose, uint64_t first, const int64_t* batches_done,
                                int64_t n, float* z, int32_t* labels, int32_t* cluster) {
  if (batches_done) first += static_cast<uint64_t>(*batches_done) * static_cast<uint64_t>(n);
  const int64_t K = static_cast<int64_t>(params.size());
  for (int64_t k = 0; k < K; ++k) {
    const DgpParams& p = params[k];
    xent::sample_latents(p, centres + k * int64_t{p.clusters} * p.d, seeds[k], purpose, first, n,
                         z + k * n * p.d, labels + k * n, cluster ? cluster + k * n : nullptr);
  }
}

void CpuBackend::mixing_forward(int K, int layers, int d, const float* weights, const float* z,
                                int64_t n, float* x) {
  const int64_t per = int64_t{layers} * d * d;
  for (int64_t k = 0; k < K; ++k)
    xent::mixing_forward(weights + k * per, layers, d, z + k * n * d, n, x + k * n * d);
}

void CpuBackend::increment(int64_t* counter) { ++*counter; }

ProbeResult CpuBackend::probe(const float* features, int64_t n, int p, const float* targets, int q,
                              double split, double scale) {
  std::vector<double> f(features, features + n * p), t(targets, targets + n * q);
  return probe_linear(f.data(), n, p, t.data(), q, split, scale);
}

}  // namespace xent
