// x = g(z), the frozen mixing MLP's forward pass (docs/paper.md): the CPU twin of
// kernels/mixing.cu. The weights, their draw and the inverse are host/dgp/mixing.cpp's.
#include <cstdint>
#include <vector>

#include "dgp/internal.h"
#include "xent/dgp.h"

namespace xent {
namespace {

double leaky(double v) { return v > 0.0 ? v : dgp::kMixingSlope * v; }

}  // namespace

void mixing_forward(const float* weights, int layers, int d, const float* z, int64_t n, float* x) {
  dgp::check_mixing(layers, d, n);
  dgp::check_mixing_buffers(weights, z, x, n);
  const size_t nd = static_cast<size_t>(d);
  std::vector<double> cur(nd), next(nd);
  for (int64_t s = 0; s < n; ++s) {
    const float* zs = z + static_cast<size_t>(s) * nd;
    for (size_t i = 0; i < nd; ++i) cur[i] = static_cast<double>(zs[i]);
    for (int l = 0; l < layers; ++l) {
      const float* wl = weights + static_cast<size_t>(l) * nd * nd;
      for (size_t r = 0; r < nd; ++r) {
        double acc = 0.0;
        for (size_t c = 0; c < nd; ++c) acc += static_cast<double>(wl[r * nd + c]) * cur[c];
        next[r] = l + 1 < layers ? leaky(acc) : acc;
      }
      cur.swap(next);
    }
    float* xs = x + static_cast<size_t>(s) * nd;
    for (size_t i = 0; i < nd; ++i) xs[i] = static_cast<float>(cur[i]);
  }
}

}  // namespace xent
