// Plain double references of the probe reductions (kernels/probe.h), for the kernel's tests: the
// same arguments less scratch and stream; x [K][n][p], y [K][n][q], rows [begin, end), each sum
// over the rows in order. The CPU backend probes another way (host/metrics), so these live with
// the tests rather than among its ops.
#pragma once
#include <cstdint>

namespace xent::test {
void probe_column_means(int K, int64_t n, int cols, const float* a, int64_t begin, int64_t end,
                        double* mean);
void probe_moments(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                   int64_t end, const double* xshift, const double* yshift, bool full_xx,
                   double* gram);
void probe_residuals(int K, int64_t n, int p, int q, const float* x, const float* y, int64_t begin,
                     int64_t end, const double* map, const double* xshift, const double* yshift,
                     const double* ymean, double* ss_res, double* ss_tot);
void probe_correlations(int K, int p, int q, const double* gram, double* r);

}  // namespace xent::test
