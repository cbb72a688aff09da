// The cluster centres of the synthetic DGP (docs/paper.md): the DGP's frozen part, drawn
// on the host once per replica.
//
// The draws are specified by the order in which they consume one Philox stream, so that a CUDA
// kernel calling curand_init(seed, stream, 0) with curand_uniform() / curand_normal() in the
// same order reproduces them (kernels/sample_latents.cu; normals to ~1e-6, see philox.h). The
// arithmetic on top of the draws is done in double and rounded to float at the end.
//
// Centre c, stream rng_stream(Centres, c):
//   Uniform:        repeat { d normals } until their norm is > 0; normalise.
//   Laplace/Normal: repeat { x = e1 + centre_scale * (d Laplace via laplace_from_uniform(uniform())
//                   or d normals) } until |x| > 0; normalise.
// The redraw on a zero vector only matters for d = 2, where a normal pair is exactly zero when
// its Box-Muller uniform rounds to 1 (probability ~2^-25 per pair).
#include <cstdint>
#include <vector>

#include "dgp/internal.h"
#include "xent/dgp.h"
#include "xent/philox.h"

namespace xent {

std::vector<float> draw_centres(const DgpParams& p, uint64_t seed) {
  dgp::check_sampling(p);
  if (!p.centres_file.empty()) return dgp::read_centres(p);
  const size_t d = static_cast<size_t>(p.d);
  std::vector<float> out(static_cast<size_t>(p.clusters) * d);
  std::vector<double> x(d);
  for (int c = 0; c < p.clusters; ++c) {
    Philox rng(seed, rng_stream(RngPurpose::Centres, static_cast<uint64_t>(c)), 0);
    double n = 0.0;
    do {
      for (size_t i = 0; i < d; ++i) {
        switch (p.centres) {
          case CentreDist::Uniform:
            x[i] = static_cast<double>(rng.normal());
            break;
          case CentreDist::Laplace:
          case CentreDist::Normal:
            x[i] = (i == 0 ? 1.0 : 0.0) +
                   p.centre_scale * dgp::draw_noise(rng, p.centres == CentreDist::Laplace);
            break;
        }
      }
      n = dgp::norm(x);
    } while (!(n > 0.0));
    dgp::write_normalised(x, n, out.data() + static_cast<size_t>(c) * d);
  }
  return out;
}

}  // namespace xent
