// Projection of rows onto the unit sphere: the encoder's optional normalised output and the
// head's optional row-normalised W.
#include <algorithm>
#include <cmath>

#include "cpu/ops.h"

namespace xent::cpu {

namespace {

// Rows per thread below which the op stays on one thread (a row of 5 to 250 values).
constexpr int64_t kGrain = 256;

}  // namespace

void normalize_rows_forward(int64_t rows, int width, const float* x, float* y, float* norms,
                            ThreadPool& pool) {
  pool.run(rows, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      double sq = 0.0;
      for (int c = 0; c < width; ++c)
        sq += static_cast<double>(x[r * width + c]) * x[r * width + c];
      // A zero row stays zero rather than becoming NaN; the floor is far below any real norm.
      const float nrm = static_cast<float>(std::max(std::sqrt(sq), 1e-12));
      if (norms) norms[r] = nrm;
      for (int c = 0; c < width; ++c) y[r * width + c] = x[r * width + c] / nrm;
    }
  });
}

void normalize_rows_backward(int64_t rows, int width, const float* y, const float* norms,
                             const float* dy, float* dx, ThreadPool& pool) {
  // d(x/|x|) = (I - y y^T) / |x|
  pool.run(rows, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      double dot = 0.0;
      for (int c = 0; c < width; ++c)
        dot += static_cast<double>(y[r * width + c]) * dy[r * width + c];
      for (int c = 0; c < width; ++c)
        dx[r * width + c] =
            static_cast<float>((dy[r * width + c] - dot * y[r * width + c]) / norms[r]);
    }
  });
}

}  // namespace xent::cpu
