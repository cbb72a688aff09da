// The linear layer on OpenBLAS, except where the inner dimension is tiny: the classifier head
// of a DIET model is 1024 rows x 5 features -> 1000 classes, and OpenBLAS spends more time
// packing and zeroing than multiplying for a 5-long inner product (it reached 8 GFLOP/s
// there against 45 on the encoder's 250 x 250 layers). Those products run as loops over the
// wide dimension below, which the compiler vectorises; their memory traffic is the least the
// op needs (each output written once).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "cpu/ops.h"
#include "cpu/vector_clones.h"

namespace xent::cpu {
namespace {

// Inner dimensions up to this take the loops: d = 5 features (the head) or a d-wide input.
constexpr int kSmallInner = 8;

// wt [in][out] = w [out][in]^T, so that the loops below read contiguous rows.
void transpose(const float* w, int out, int in, float* wt) {
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) wt[i * out + o] = w[o * in + i];
}

// y [rows][out] = x [rows][in] W^T (+ b): each output's IN products summed in order of i, then
// the bias, and written once. IN is a compile-time constant so that the sum over i unrolls and
// the loop over o vectorises.
template <int IN>
XENT_VECTOR_CLONES void forward_small_inner(int64_t rows, int out, const float* __restrict x,
                                            const float* __restrict wt, const float* __restrict b,
                                            float* __restrict y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * IN;
    float* __restrict yr = y + r * out;
    for (int o = 0; o < out; ++o) {
      float acc = xr[0] * wt[o];
      for (int i = 1; i < IN; ++i) acc += xr[i] * wt[i * out + o];
      yr[o] = b ? acc + b[o] : acc;
    }
  }
}

// A dot product in kLanes partial sums folded in a fixed order (a single running sum would not
// vectorise).
XENT_VECTOR_CLONES float dot(const float* __restrict a, const float* __restrict b, int n) {
  constexpr int kLanes = 16;
  float lane[kLanes] = {};
  int j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += a[j + l] * b[j + l];
  float s = 0.0f;
  for (int l = 0; l < kLanes; ++l) s += lane[l];
  for (; j < n; ++j) s += a[j] * b[j];
  return s;
}

// dx [rows][in] = dy W (dot products of dy's rows with wt's rows; skipped when dx is null) and
// dW [out][in] = dy^T x, accumulated over rows (in row order, in float, as a GEMM does) in
// dwt [in][out], which stays in L1.
template <int IN>
XENT_VECTOR_CLONES void backward_small_inner(int64_t rows, int out, const float* __restrict x,
                                             const float* __restrict wt, const float* __restrict dy,
                                             float* __restrict dx, float* __restrict dwt) {
  for (int i = 0; i < IN * out; ++i) dwt[i] = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* dyr = dy + r * out;
    for (int i = 0; i < IN; ++i) {
      const float xi = x[r * IN + i];
      float* __restrict di = dwt + i * out;
      for (int o = 0; o < out; ++o) di[o] += xi * dyr[o];
    }
    if (dx)
      for (int i = 0; i < IN; ++i) dx[r * IN + i] = dot(dyr, wt + i * out, out);
  }
}

// db [out] = column sums of dy [rows][out]. They accumulate in double: with 1024+ rows float
// sums lose bits that the GPU's tree reduction keeps, and the reference should be the more exact
// of the two.
XENT_VECTOR_CLONES void column_sums(int64_t rows, int out, const float* __restrict dy,
                                    double* __restrict acc, float* __restrict db) {
  for (int o = 0; o < out; ++o) acc[o] = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int o = 0; o < out; ++o) acc[o] += dy[r * out + o];
  for (int o = 0; o < out; ++o) db[o] = static_cast<float>(acc[o]);
}

template <int IN>
void small_inner(bool forward, int64_t rows, int in, int out, const float* x, const float* wt,
                 const float* b_or_dy, float* y_or_dx, float* dwt) {
  if (in != IN) return small_inner<IN - 1>(forward, rows, in, out, x, wt, b_or_dy, y_or_dx, dwt);
  if (forward)
    forward_small_inner<IN>(rows, out, x, wt, b_or_dy, y_or_dx);
  else
    backward_small_inner<IN>(rows, out, x, wt, b_or_dy, y_or_dx, dwt);
}
template <>
void small_inner<0>(bool, int64_t, int, int, const float*, const float*, const float*, float*,
                    float*) {}

}  // namespace

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                    float* y) {
  const int64_t rows = s.rows;
  std::vector<float> wt(s.in <= kSmallInner ? static_cast<size_t>(s.in) * s.out : 0);
  for (int k = 0; k < s.K; ++k) {
    const float* xk = x + k * rows * s.in;
    const float* wk = w + int64_t{k} * s.out * s.in;
    float* yk = y + k * rows * s.out;
    const float* bk = b ? b + int64_t{k} * s.out : nullptr;
    if (s.in <= kSmallInner) {
      transpose(wk, s.out, s.in, wt.data());
      small_inner<kSmallInner>(true, rows, s.in, s.out, xk, wt.data(), bk, yk, nullptr);
      continue;
    }
    // With a bias, y starts as the bias and the GEMM adds the products (beta = 1): one pass
    // over y fewer than zeroing it (OpenBLAS's beta = 0) and adding the bias after, and the
    // same bits, acc + b rounded once.
    if (bk)
      for (int64_t r = 0; r < rows; ++r) std::copy_n(bk, s.out, yk + r * s.out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), s.out, s.in, 1.0f,
                xk, s.in, wk, s.in, bk ? 1.0f : 0.0f, yk, s.out);
  }
}

void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                     float* dx, float* dw, float* db) {
  const int64_t rows = s.rows;
  const bool small = s.in <= kSmallInner;
  std::vector<float> wt(small ? static_cast<size_t>(s.in) * s.out : 0), dwt(wt.size());
  std::vector<double> acc(db ? s.out : 0);
  for (int k = 0; k < s.K; ++k) {
    const float* xk = x + k * rows * s.in;
    const float* wk = w + int64_t{k} * s.out * s.in;
    const float* dyk = dy + k * rows * s.out;
    float* dxk = dx ? dx + k * rows * s.in : nullptr;
    float* dwk = dw + int64_t{k} * s.out * s.in;
    if (small) {
      transpose(wk, s.out, s.in, wt.data());
      small_inner<kSmallInner>(false, rows, s.in, s.out, xk, wt.data(), dyk, dxk, dwt.data());
      for (int o = 0; o < s.out; ++o)
        for (int i = 0; i < s.in; ++i) dwk[o * s.in + i] = dwt[i * s.out + o];
    } else {
      if (dxk)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), s.in, s.out,
                    1.0f, dyk, s.out, wk, s.in, 0.0f, dxk, s.in);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.out, s.in, static_cast<int>(rows),
                  1.0f, dyk, s.out, xk, s.in, 0.0f, dwk, s.in);
    }
    if (!db) continue;
    column_sums(rows, s.out, dyk, acc.data(), db + int64_t{k} * s.out);
  }
}

}  // namespace xent::cpu
