#include "cpu/column_sums.h"

#include "cpu/vector_clones.h"

namespace xent::cpu {

// They accumulate in double: with 1024+ rows float sums lose bits that the GPU's tree
// reduction keeps, and the reference should be the more exact of the two. Blocks of 8 columns
// keep their sums in registers over the rows.
XENT_VECTOR_CLONES void column_sums(int64_t rows, int out, int o0, int o1,
                                    const float* __restrict dy, float* __restrict db) {
  typedef double v4d __attribute__((vector_size(32), aligned(8), may_alias));
  int o = o0;
  for (; o + 8 <= o1; o += 8) {
    v4d lo = {}, hi = {};
    for (int64_t r = 0; r < rows; ++r) {
      const float* d = dy + r * out + o;
      lo += v4d{d[0], d[1], d[2], d[3]};
      hi += v4d{d[4], d[5], d[6], d[7]};
    }
    for (int l = 0; l < 4; ++l) {
      db[o + l] = static_cast<float>(lo[l]);
      db[o + 4 + l] = static_cast<float>(hi[l]);
    }
  }
  for (; o < o1; ++o) {
    double sum = 0.0;
    for (int64_t r = 0; r < rows; ++r) sum += dy[r * out + o];
    db[o] = static_cast<float>(sum);
  }
}

}  // namespace xent::cpu
