// The reference backend: host memory, OpenBLAS GEMMs and the loops in host/cpu/<op>.cpp.
#include "cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "cpu/ops.h"

namespace xent {
namespace {

// Rows per thread below which the DGP's ops stay on one thread: 256 latent or mixed rows are
// a few microseconds of work, about what handing a block to a worker costs.
constexpr int64_t kRowGrain = 256;

}  // namespace

CpuBackend::CpuBackend(int threads) : pool_(threads) {
  // The pool splits the GEMMs too (host/cpu/linear.cpp), so OpenBLAS runs each part on its
  // caller's thread: its own threads on top would oversubscribe the cores.
  openblas_set_num_threads(1);
}

// One replica per thread at a time: a 1024 x 250 activation is 1 MB, so a population's K of
// them (8 MB at K = 8) outgrow a core's L2 (1 to 2 MB) and every op streams them from L3 or
// memory. sup-base at K = 8 on 2 cores (xent_bench, replica-steps/s, two rounds): all 8 at
// once 55 / 55 on one thread and 111 / 115 on two; one replica at a time 59 / 61 and 118 / 116;
// two at a time on two threads 115 / 116, where each op hands each thread a whole replica.
int CpuBackend::replica_group(int K) const { return std::min(K, pool_.threads()); }

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
#define XENT_CPU_WITH_POOL(...) (__VA_ARGS__, pool_)
#define XENT_CPU_FORWARD(R, NAME, PARAMS, ARGS) \
  R CpuBackend::NAME PARAMS { return cpu::NAME XENT_CPU_WITH_POOL ARGS; }
XENT_TWIN_OPS(XENT_CPU_FORWARD)
#undef XENT_CPU_FORWARD
#undef XENT_CPU_WITH_POOL

void CpuBackend::sample_latents(const std::vector<DgpParams>& params,
                                const std::vector<uint64_t>& seeds, const float* centres,
                                RngPurpose purpose, uint64_t first, const int64_t* batches_done,
                                int64_t n, float* z, int32_t* labels, int32_t* cluster) {
  if (batches_done) first += static_cast<uint64_t>(*batches_done) * static_cast<uint64_t>(n);
  // Sample j is stream first + j, so any split of the rows draws the same samples.
  const int64_t K = static_cast<int64_t>(params.size());
  pool_.run(K * n, kRowGrain, [&](int64_t begin, int64_t end) {
    cpu::for_rows(n, begin, end, [&](int64_t k, int64_t r0, int64_t r1) {
      const DgpParams& p = params[k];
      const int64_t at = k * n + r0;
      xent::sample_latents(p, centres + k * int64_t{p.clusters} * p.d, seeds[k], purpose,
                           first + static_cast<uint64_t>(r0), r1 - r0, z + at * p.d, labels + at,
                           cluster ? cluster + at : nullptr);
    });
  });
}

void CpuBackend::mixing_forward(int K, int layers, int d, const float* weights, const float* z,
                                int64_t n, float* x) {
  const int64_t per = int64_t{layers} * d * d;
  pool_.run(K * n, kRowGrain, [&](int64_t begin, int64_t end) {
    cpu::for_rows(n, begin, end, [&](int64_t k, int64_t r0, int64_t r1) {
      const int64_t at = (k * n + r0) * d;
      xent::mixing_forward(weights + k * per, layers, d, z + at, r1 - r0, x + at);
    });
  });
}

void CpuBackend::increment(int64_t* counter) { ++*counter; }

ProbeResult CpuBackend::probe(const float* features, int64_t n, int p, const float* targets, int q,
                              double split, double scale) {
  std::vector<double> f(features, features + n * p), t(targets, targets + n * q);
  return probe_linear(f.data(), n, p, t.data(), q, split, scale);
}

}  // namespace xent
