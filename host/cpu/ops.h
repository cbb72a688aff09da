// The CPU twins of the kernels: plain loops and OpenBLAS, the reference every other backend is
// tested against. One op per file (host/cpu/<op>.cpp), named as its kernel.
#pragma once
#include "xent/backend.h"

namespace xent::cpu {

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y);
void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                     float* dx, float* dw, float* db);

void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* gamma,
                                 const float* beta, float* a, float* mean, float* rstd,
                                 float* running_mean, float* running_var);
void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* gamma,
                                const float* beta, const float* running_mean,
                                const float* running_var, float* a);
void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* a,
                            const float* gamma, const float* mean, const float* rstd,
                            const float* da, float* dh, float* dgamma, float* dbeta);

void normalize_rows_forward(int64_t rows, int width, const float* x, float* y, float* norms);
void normalize_rows_backward(int64_t rows, int width, const float* y, const float* norms,
                             const float* dy, float* dx);

void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* loss,
                  float* correct, bool grad);

void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a);

void render_sprites(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                    int64_t period, int64_t n, float* images, int32_t* labels);

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
