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

}  // namespace xent::cpu
