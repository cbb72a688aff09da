// The CPU twins of the kernels: plain loops and OpenBLAS, the reference every other backend is
// tested against. One op per file (host/cpu/<op>.cpp), named as its kernel.
#pragma once
#include "cpu/thread_pool.h"
#include "xent/backend.h"

namespace xent::cpu {

// linear_forward ... adam: the ops of XENT_TWIN_OPS (include/xent/backend.h), with the Backend's
// arguments and meaning, and last the threads to split them over (one unless given: the
// reference). The CPU backend calls these with its pool; the result is the same bits for any
// pool.
#define XENT_CPU_WITH_POOL(...) (__VA_ARGS__, ThreadPool& pool = ThreadPool::serial())
#define XENT_CPU_TWIN(R, NAME, PARAMS, ARGS) R NAME XENT_CPU_WITH_POOL PARAMS;
XENT_TWIN_OPS(XENT_CPU_TWIN)
#undef XENT_CPU_TWIN
#undef XENT_CPU_WITH_POOL

// Adam's bias corrections at step t (>= 1), the expressions cpu::adam uses. The CUDA backend
// tabulates them on the host with this function, so that both backends use the same bits
// (the device's powf differs from glibc's in the last bit for some steps).
AdamCorrection adam_correction(const AdamParams& a, int64_t t);

}  // namespace xent::cpu

// ---- probe reductions (kernels/probe.h): the same arguments less scratch and stream --------
// Plain double loops over the rows in order; x [K][n][p], y [K][n][q], rows [begin, end).

namespace xent::cpu {

void probe_column_means(int K, int64_t n, int cols, const float* a, int64_t begin, int64_t end,
                        double* mean);
void probe_moments(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                   int64_t end, const double* xshift, const double* yshift, bool full_xx,
                   double* gram);
void probe_residuals(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                     int64_t end, const double* map, const double* xshift, const double* yshift,
                     const double* ymean, double* ss_res, double* ss_tot);
void probe_correlations(int K, int p, int q, const double* gram, double* r);

}  // namespace xent::cpu
