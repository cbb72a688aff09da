// The DGP's parameter checks and Wood's constants (host/dgp/internal.h): one definition for the
// centres, the CPU sampler, the mixing MLP and the CUDA backend's kernel parameters.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "dgp/internal.h"
#include "xent/error.h"

namespace xent::dgp {

void check_sampling(const DgpParams& p) {
  if (p.d < 2) {
    throw InputError("dgp: latent dimension d must be at least 2, got " + std::to_string(p.d));
  }
  if (p.clusters < 1) {
    throw InputError("dgp: clusters must be at least 1, got " + std::to_string(p.clusters));
  }
  if (!(p.kappa > 0.0) || !std::isfinite(p.kappa)) {
    throw InputError("dgp: kappa must be positive and finite, got " + std::to_string(p.kappa));
  }
  if (!(p.beta > 0.0) || !std::isfinite(p.beta)) {
    throw InputError("dgp: beta must be positive and finite, got " + std::to_string(p.beta));
  }
  if (!(p.centre_scale >= 0.0) || !std::isfinite(p.centre_scale)) {
    throw InputError("dgp: centre_scale must be non-negative and finite, got " +
                     std::to_string(p.centre_scale));
  }
  // Labels are int32 and the index draw maps one u32 onto [0, M), so M must fit in 31 bits.
  if (p.instances < 1 || p.instances > std::numeric_limits<int32_t>::max()) {
    throw InputError("dgp: instances must be in [1, 2^31), got " + std::to_string(p.instances));
  }
}

Wood wood(int d, double kappa) {
  Wood w{};
  w.kappa = kappa;
  w.dm1 = d - 1;
  w.b = w.dm1 / (2.0 * kappa + std::sqrt(4.0 * kappa * kappa + w.dm1 * w.dm1));
  w.x0 = (1.0 - w.b) / (1.0 + w.b);
  // 1 - x0^2 = 4b / (1+b)^2 without the cancellation for large kappa.
  w.c = kappa * w.x0 + w.dm1 * std::log(4.0 * w.b / ((1.0 + w.b) * (1.0 + w.b)));
  w.a = 0.5 * w.dm1;
  return w;
}

void check_mixing(int layers, int d, int64_t n) {
  if (d < 2) {
    throw InputError("mixing: latent dimension d must be at least 2, got " + std::to_string(d));
  }
  if (layers < 1) {
    throw InputError("mixing: mixing_layers must be at least 1, got " + std::to_string(layers));
  }
  if (n < 0) {
    throw InputError("mixing: sample count must be non-negative, got " + std::to_string(n));
  }
}

void check_mixing_buffers(const void* weights, const void* in, const void* out, int64_t n) {
  if (n > 0 && (weights == nullptr || in == nullptr || out == nullptr)) {
    throw InputError("mixing: null weights, input or output");
  }
}

}  // namespace xent::dgp
