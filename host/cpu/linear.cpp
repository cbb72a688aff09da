#include <cblas.h>

#include <vector>

#include "cpu/ops.h"

namespace xent::cpu {

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                    float* y) {
  const int64_t rows = s.rows;
  for (int k = 0; k < s.K; ++k) {
    const float* xk = x + k * rows * s.in;
    const float* wk = w + int64_t{k} * s.out * s.in;
    float* yk = y + k * rows * s.out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), s.out, s.in, 1.0f,
                xk, s.in, wk, s.in, 0.0f, yk, s.out);
    if (!b) continue;
    const float* bk = b + int64_t{k} * s.out;
    for (int64_t r = 0; r < rows; ++r)
      for (int o = 0; o < s.out; ++o) yk[r * s.out + o] += bk[o];
  }
}

void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                     float* dx, float* dw, float* db) {
  const int64_t rows = s.rows;
  for (int k = 0; k < s.K; ++k) {
    const float* xk = x + k * rows * s.in;
    const float* wk = w + int64_t{k} * s.out * s.in;
    const float* dyk = dy + k * rows * s.out;
    if (dx)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), s.in, s.out,
                  1.0f, dyk, s.out, wk, s.in, 0.0f, dx + k * rows * s.in, s.in);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.out, s.in, static_cast<int>(rows), 1.0f,
                dyk, s.out, xk, s.in, 0.0f, dw + int64_t{k} * s.out * s.in, s.in);
    if (!db) continue;
    float* dbk = db + int64_t{k} * s.out;
    // Column sums accumulate in double: with 1024+ rows float sums lose bits that the
    // GPU's tree reduction keeps, and the reference should be the more exact of the two.
    std::vector<double> acc(s.out, 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int o = 0; o < s.out; ++o) acc[o] += dyk[r * s.out + o];
    for (int o = 0; o < s.out; ++o) dbk[o] = static_cast<float>(acc[o]);
  }
}

}  // namespace xent::cpu
