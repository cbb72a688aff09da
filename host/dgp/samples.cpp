#include <cstddef>
#include <cstdint>

#include "xent/dgp.h"

namespace xent {

DgpSamples draw_samples(const DgpParams& p, uint64_t seed, int64_t n) {
  DgpSamples s;
  s.centres = draw_centres(p, seed);
  s.mixing = draw_mixing(p, seed);
  const auto rows = static_cast<size_t>(n);
  s.z.resize(rows * static_cast<size_t>(p.d));
  s.x.resize(s.z.size());
  s.labels.resize(rows);
  s.clusters.resize(rows);
  sample_latents(p, s.centres.data(), seed, RngPurpose::Train, 0, n, s.z.data(), s.labels.data(),
                 s.clusters.data());
  mixing_forward(s.mixing.data(), p.mixing_layers, p.d, s.z.data(), n, s.x.data());
  return s;
}

}  // namespace xent
