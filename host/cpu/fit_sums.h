// The order in which the probe fits' losses are summed (logistic_loss, multinomial_loss; the
// kernels keep it too, kernels/fit_sums.cuh): per fit, runs of kRun rows in double, the runs of
// a block of kLogisticBlock rows in order, then the blocks in order. Blocks are independent,
// so the threads split them and every thread count gives the same bits.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/thread_pool.h"
#include "xent/backend.h"

namespace xent::cpu {

// loss[f] = the sum over rows r < n of term(r * F + f) (a float, widened), F fits. term may
// write its own element (the gradient in place of the logit).
template <class Term>
void fit_sums(int64_t n, int64_t F, double* loss, ThreadPool& pool, Term term) {
  constexpr int64_t kRun = 32;
  const int64_t blocks = (n + kLogisticBlock - 1) / kLogisticBlock;
  std::vector<double> table(static_cast<size_t>(blocks * F));
  pool.run(blocks, 1, [&](int64_t b0, int64_t b1) {
    std::vector<double> run(static_cast<size_t>(F));
    for (int64_t b = b0; b < b1; ++b) {
      double* block = table.data() + b * F;
      for (int64_t r0 = b * kLogisticBlock; r0 < std::min(n, (b + 1) * kLogisticBlock);
           r0 += kRun) {
        std::fill(run.begin(), run.end(), 0.0);
        for (int64_t r = r0; r < std::min(n, r0 + kRun); ++r)
          for (int64_t f = 0; f < F; ++f) run[f] += static_cast<double>(term(r * F + f));
        for (int64_t f = 0; f < F; ++f) block[f] += run[f];
      }
    }
  });
  for (int64_t f = 0; f < F; ++f) {
    double sum = 0.0;
    for (int64_t b = 0; b < blocks; ++b) sum += table[b * F + f];
    loss[f] = sum;
  }
}

}  // namespace xent::cpu
