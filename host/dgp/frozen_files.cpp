// The DGP's frozen parts read from .npy files (dgp.centres_file, dgp.mixing_file) instead of
// drawn: a way to train on another code's centres and mixing, so that only the trainer differs.
#include <cmath>
#include <string>
#include <vector>

#include "dgp/internal.h"
#include "xent/error.h"
#include "xent/npy.h"

namespace xent::dgp {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The file's values as float32, after checking its shape; errors start with "KEY: FILE: ".
std::vector<float> read_shaped(const std::string& key, const std::string& path,
                               const std::vector<int64_t>& want, const std::string& names) {
  NpyArray a;
  try {
    a = read_npy(path);
  } catch (const InputError& e) {
    throw InputError(key + ": " + e.what());
  }
  if (a.shape != want) {
    throw InputError(key + ": " + path + " has shape " + shape_text(a.shape) + ", expected " +
                     names + " = " + shape_text(want));
  }
  std::vector<float> out(a.data.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(a.data[i])) {
      throw InputError(key + ": " + path + " holds a non-finite value at flat index " +
                       std::to_string(i));
    }
    out[i] = static_cast<float>(a.data[i]);
  }
  return out;
}

}  // namespace

std::vector<float> read_centres(const DgpParams& p) {
  const std::string key = "dgp.centres_file";
  const std::vector<float> c =
      read_shaped(key, p.centres_file, {p.clusters, p.d}, "[dgp.clusters, dgp.d]");
  const size_t d = static_cast<size_t>(p.d);
  for (size_t row = 0; row < static_cast<size_t>(p.clusters); ++row) {
    double n2 = 0.0;
    for (size_t i = 0; i < d; ++i) n2 += static_cast<double>(c[row * d + i]) * c[row * d + i];
    // The conditionals sample around a unit vector. A float32 unit vector's norm is 1 to within
    // a few 1e-7 (one rounding per coordinate, sqrt(d) of them adding up); 1e-4 accepts any
    // float32 normalisation and rejects centres that were never normalised.
    if (std::abs(std::sqrt(n2) - 1.0) > 1e-4) {
      throw InputError(key + ": " + p.centres_file + " row " + std::to_string(row) + " has norm " +
                       std::to_string(std::sqrt(n2)) +
                       ", centres must be unit vectors (latents live on the sphere)");
    }
  }
  return c;
}

std::vector<float> read_mixing(const DgpParams& p) {
  return read_shaped("dgp.mixing_file", p.mixing_file, {p.mixing_layers, p.d, p.d},
                     "[dgp.mixing_layers, dgp.d, dgp.d]");
}

}  // namespace xent::dgp
