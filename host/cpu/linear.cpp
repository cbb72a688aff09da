// The linear layer on OpenBLAS, except where the inner dimension is tiny: the classifier head
// of a DIET model is 1024 rows x 5 features -> 1000 classes, and OpenBLAS spends more time
// packing and zeroing than multiplying for a 5-long inner product (it reached 8 GFLOP/s
// there against 45 on the encoder's 250 x 250 layers). Those products run as loops over the
// wide dimension below, which the compiler vectorises; their memory traffic is the least the
// op needs (each output written once).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "cpu/column_sums.h"
#include "cpu/ops.h"
#include "cpu/vector_clones.h"

namespace xent::cpu {
namespace {

// Inner dimensions up to this take the loops: d = 5 features (the head) or a d-wide input.
constexpr int kSmallInner = 8;

// Rows (or output columns) per thread below which an op stays on one thread: a block of 64
// rows of a 250-wide layer is ~8 MFLOP, far above what handing it to a worker costs.
constexpr int64_t kGrain = 64;

// wt [in][out] = w [out][in]^T, so that the loops below read contiguous rows.
void transpose(const float* w, int out, int in, float* wt) {
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) wt[i * out + o] = w[o * in + i];
}

// wt for every replica, [K][in][out].
std::vector<float> transposed(const LinearShape& s, const float* w) {
  const int64_t per = int64_t{s.in} * s.out;
  std::vector<float> wt(static_cast<size_t>(s.K * per));
  for (int k = 0; k < s.K; ++k) transpose(w + k * per, s.out, s.in, wt.data() + k * per);
  return wt;
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

// GCC's vector extension: 8 floats, loaded and stored unaligned. Each lane does a product and
// a sum per element as the scalar loops do (no FMA in either clone), so vector and scalar code
// give the same bits.
// (No helper functions: a 32-byte vector argument or result outside the AVX clone changes the
// ABI.)
typedef float v8 __attribute__((vector_size(32), aligned(4), may_alias));

// dx [rows][in] = dy W: per row, IN dot products of dy's row with wt's rows, each in 16 lanes
// (lane l sums the elements j = l mod 16 in order), the lanes folded in order, then the tail
// of fewer than 16. The IN products share each load of dy.
template <int IN>
XENT_VECTOR_CLONES void dx_small_inner(int64_t rows, int out, const float* __restrict wt,
                                       const float* __restrict dy, float* __restrict dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict d = dy + r * out;
    v8 lo[IN] = {}, hi[IN] = {};
    int j = 0;
    for (; j + 16 <= out; j += 16) {
      const v8 d0 = *reinterpret_cast<const v8*>(d + j),
               d1 = *reinterpret_cast<const v8*>(d + j + 8);
      for (int i = 0; i < IN; ++i) {
        lo[i] += d0 * *reinterpret_cast<const v8*>(wt + i * out + j);
        hi[i] += d1 * *reinterpret_cast<const v8*>(wt + i * out + j + 8);
      }
    }
    for (int i = 0; i < IN; ++i) {
      float sum = 0.0f;
      for (int l = 0; l < 8; ++l) sum += lo[i][l];
      for (int l = 0; l < 8; ++l) sum += hi[i][l];
      for (int t = j; t < out; ++t) sum += d[t] * wt[i * out + t];
      dx[r * IN + i] = sum;
    }
  }
}

// Columns [o0, o1) of dwt [in][out] = (dy^T x)^T, accumulated over rows in row order, in float
// as a GEMM does. Blocks of kCols columns keep their IN x kCols sums in registers over all the
// rows and read each row's piece of dy once (a DIET head: 1024 x 1000 dy, 4 MB); a sum that
// went through memory on every row made this a store-bound loop at a third of the speed.
template <int IN>
XENT_VECTOR_CLONES void dw_small_inner(int64_t rows, int out, int o0, int o1,
                                       const float* __restrict x, const float* __restrict dy,
                                       float* __restrict dwt) {
  constexpr int kCols = 16;
  int o = o0;
  for (; o + kCols <= o1; o += kCols) {
    v8 lo[IN] = {}, hi[IN] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const v8 d0 = *reinterpret_cast<const v8*>(dy + r * out + o),
               d1 = *reinterpret_cast<const v8*>(dy + r * out + o + 8);
      for (int i = 0; i < IN; ++i) {
        const float xi = x[r * IN + i];
        lo[i] += xi * d0;
        hi[i] += xi * d1;
      }
    }
    for (int i = 0; i < IN; ++i) {
      *reinterpret_cast<v8*>(dwt + i * out + o) = lo[i];
      *reinterpret_cast<v8*>(dwt + i * out + o + 8) = hi[i];
    }
  }
  if (o == o1) return;
  for (int i = 0; i < IN; ++i)
    for (int c = o; c < o1; ++c) dwt[i * out + c] = 0.0f;
  for (int64_t r = 0; r < rows; ++r)
    for (int i = 0; i < IN; ++i) {
      const float xi = x[r * IN + i];
      for (int c = o; c < o1; ++c) dwt[i * out + c] += xi * dy[r * out + c];
    }
}

// The loops for the inner dimension `in` (<= IN), instantiated for each width up to IN.
enum class Pass { kForward, kDx, kDw };
template <int IN>
void small_inner(Pass pass, int64_t rows, int in, int out, int o0, int o1, const float* x,
                 const float* wt, const float* b_or_dy, float* out_array) {
  if (in != IN) return small_inner<IN - 1>(pass, rows, in, out, o0, o1, x, wt, b_or_dy, out_array);
  if (pass == Pass::kForward)
    forward_small_inner<IN>(rows, out, x, wt, b_or_dy, out_array);
  else if (pass == Pass::kDx)
    dx_small_inner<IN>(rows, out, wt, b_or_dy, out_array);
  else
    dw_small_inner<IN>(rows, out, o0, o1, x, b_or_dy, out_array);
}
template <>
void small_inner<0>(Pass, int64_t, int, int, int, int, const float*, const float*, const float*,
                    float*) {}

}  // namespace

// Threads split rows (y, dx) or output columns (dW, db), never an inner sum. The loops above
// are split by rows or columns directly. OpenBLAS is another matter: which kernel it runs, and
// so the order of an element's sum, depends on the whole call's shape (a call of under ~1e6 or
// ~7e6 multiply-adds takes its small-matrix or direct kernels, depending on the version and the
// CPU). So its calls are fixed by the shape alone: rows in chunks of kChunk, one call each, a
// replica's dW in one call, and the threads share out those calls. Every thread count makes the
// same calls and gets the same bits. A chunk of 256 rows costs 3-5% over one 1024-row call (on
// one thread, measured for the 250 x 250 layer); a population's calls are its replicas' chunks.
constexpr int64_t kChunk = 256;

int64_t chunks(int64_t rows) { return (rows + kChunk - 1) / kChunk; }

// A replica's dW = dy^T x is one call, except over a long reduction: from kLongRows rows (a
// probe over a whole data set, 46,110 rows for ImageNet-X; never a training batch, whose calls
// and bits stay as they were) it is split into blocks of kDwCols input columns, one call each,
// so that a single replica's gradient, half of a probe's work, runs on every thread. Each
// element's sum still runs over all rows in one call; the blocks depend on the shape alone.
constexpr int64_t kLongRows = 16384;
constexpr int kDwCols = 256;

int dw_blocks(const LinearShape& s) {
  return s.rows >= kLongRows ? (s.in + kDwCols - 1) / kDwCols : 1;
}

void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b, float* y,
                    ThreadPool& pool) {
  const int64_t rows = s.rows;
  if (s.in <= kSmallInner) {
    const std::vector<float> wt = transposed(s, w);
    pool.run(s.K * rows, kGrain, [&](int64_t begin, int64_t end) {
      for_rows(rows, begin, end, [&](int64_t k, int64_t r0, int64_t r1) {
        small_inner<kSmallInner>(Pass::kForward, r1 - r0, s.in, s.out, 0, s.out,
                                 x + (k * rows + r0) * s.in, wt.data() + k * s.in * s.out,
                                 b ? b + k * s.out : nullptr, y + (k * rows + r0) * s.out);
      });
    });
    return;
  }
  // The chunks are dealt in contiguous runs, as the other ops deal rows: each thread then
  // reads in BatchNorm the rows it wrote here, from its own cache.
  const int64_t per = chunks(rows);
  pool.run(s.K * per, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t k = t / per;
      const int64_t r0 = (t - k * per) * kChunk;
      const int64_t m = std::min(kChunk, rows - r0);
      const float* xk = x + (k * rows + r0) * s.in;
      float* yk = y + (k * rows + r0) * s.out;
      const float* bk = b ? b + k * s.out : nullptr;
      // With a bias, y starts as the bias and the GEMM adds the products (beta = 1): one pass
      // over y fewer than zeroing it (OpenBLAS's beta = 0) and adding the bias after, and the
      // same bits, acc + b rounded once.
      if (bk)
        for (int64_t r = 0; r < m; ++r) std::copy_n(bk, s.out, yk + r * s.out);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), s.out, s.in, 1.0f,
                  xk, s.in, w + k * s.out * s.in, s.in, bk ? 1.0f : 0.0f, yk, s.out);
    }
  });
}

void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                     float* dx, float* dw, float* db, ThreadPool& pool) {
  const int64_t rows = s.rows;
  const int64_t per_w = int64_t{s.in} * s.out;
  // db: column sums, in column blocks of kGrain.
  const int64_t col_blocks = (s.out + kGrain - 1) / kGrain;
  const auto db_block = [&](int64_t t) {
    const int64_t k = t / col_blocks;
    const int c0 = static_cast<int>((t - k * col_blocks) * kGrain);
    const int c1 = std::min(s.out, c0 + static_cast<int>(kGrain));
    column_sums(rows, s.out, c0, c1, dy + k * rows * s.out, db + k * s.out);
  };
  if (s.in > kSmallInner) {
    const int64_t per = dx ? chunks(rows) : 0;
    const int blocks = dw_blocks(s);
    const int cols = blocks == 1 ? s.in : kDwCols;
    const auto dw_call = [&](int64_t t) {  // block t % blocks of replica t / blocks
      const int64_t k = t / blocks;
      const int i0 = static_cast<int>(t % blocks) * cols, n = std::min(cols, s.in - i0);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s.out, n, static_cast<int>(rows), 1.0f,
                  dy + k * rows * s.out, s.out, x + k * rows * s.in + i0, s.in, 0.0f,
                  dw + k * per_w + i0, s.in);
    };
    const auto dx_call = [&](int64_t k, int64_t chunk) {
      const int64_t r0 = chunk * kChunk;
      const int64_t m = std::min(kChunk, rows - r0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), s.in, s.out, 1.0f,
                  dy + (k * rows + r0) * s.out, s.out, w + k * per_w, s.in, 0.0f,
                  dx + (k * rows + r0) * s.in, s.in);
    };
    if (s.K >= pool.threads()) {
      // Whole replicas per thread, in contiguous runs as the other ops deal them (their rows
      // stay in the cache of the thread that wrote them); balanced when the threads divide K.
      pool.run(s.K, 1, [&](int64_t k0, int64_t k1) {
        for (int64_t k = k0; k < k1; ++k) {
          for (int b = 0; b < blocks; ++b) dw_call(k * blocks + b);
          for (int64_t c = 0; c < per; ++c) dx_call(k, c);
          if (db)
            for (int64_t c = 0; c < col_blocks; ++c) db_block(k * col_blocks + c);
        }
      });
      return;
    }
    // Fewer replicas than threads: the calls go to whichever thread is free, largest first:
    // each replica's dW = dy^T x (by blocks of columns), its dx = dy W by chunks of rows, then
    // db's column blocks.
    const int64_t dw_calls = int64_t{s.K} * blocks, dx_calls = s.K * per;
    pool.run_each(dw_calls + dx_calls + (db ? s.K * col_blocks : 0), [&](int64_t t) {
      if (t < dw_calls)
        dw_call(t);
      else if (t < dw_calls + dx_calls)
        dx_call((t - dw_calls) / per, (t - dw_calls) % per);
      else
        db_block(t - dw_calls - dx_calls);
    });
    return;
  }
  // The loops: dx by rows, then dW and db by output columns.
  const std::vector<float> wt = transposed(s, w);
  if (dx)
    pool.run(s.K * rows, kGrain, [&](int64_t begin, int64_t end) {
      for_rows(rows, begin, end, [&](int64_t k, int64_t r0, int64_t r1) {
        small_inner<kSmallInner>(Pass::kDx, r1 - r0, s.in, s.out, 0, s.out, nullptr,
                                 wt.data() + k * per_w, dy + (k * rows + r0) * s.out,
                                 dx + (k * rows + r0) * s.in);
      });
    });
  std::vector<float> dwt(static_cast<size_t>(s.K * per_w));
  pool.run(int64_t{s.K} * s.out, kGrain / 4, [&](int64_t begin, int64_t end) {
    for_rows(s.out, begin, end, [&](int64_t k, int64_t o0, int64_t o1) {
      const float* xk = x + k * rows * s.in;
      const float* dyk = dy + k * rows * s.out;
      float* dwk = dw + k * per_w;
      float* dwtk = dwt.data() + k * per_w;
      const int c0 = static_cast<int>(o0), c1 = static_cast<int>(o1);
      small_inner<kSmallInner>(Pass::kDw, rows, s.in, s.out, c0, c1, xk, nullptr, dyk, dwtk);
      for (int o = c0; o < c1; ++o)
        for (int i = 0; i < s.in; ++i) dwk[o * s.in + i] = dwtk[i * s.out + o];
      if (db) column_sums(rows, s.out, c0, c1, dyk, db + k * s.out);
    });
  });
}

}  // namespace xent::cpu
