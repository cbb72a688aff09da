// What the files of the extension module xent._xent share. The module is thin on purpose: the
// package in python/xent/ checks every argument and holds the documented API; these functions
// take arguments already checked and call the engine as the CLI does (host/cli/), so that both
// give the same numbers.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <string>
#include <utility>
#include <vector>

#include "xent/config.h"

namespace xent::py {

namespace nb = nanobind;

// A resolved config and the preset it started from (summary.json records the preset's name).
struct PyConfig {
  Config config;
  std::string preset;
};

// A numpy array that owns `values` (moved into its capsule): no copy on the way to Python.
template <class T>
nb::object to_numpy(std::vector<T> values, const std::vector<size_t>& shape) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(owned->data(), shape.size(), shape.data(), owner).cast();
}

void bind_config(nb::module_& m);
void bind_data(nb::module_& m);
void bind_train(nb::module_& m);
void bind_sweep(nb::module_& m);

}  // namespace xent::py
