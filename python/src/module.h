// What the files of the extension module xent._xent share. The module is thin on purpose: the
// package in python/xent/ checks every argument and holds the documented API; these functions
// take arguments already checked and call the engine as the CLI does (host/cli/), so that both
// give the same numbers.
#pragma once
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xent/config.h"
#include "xent/run.h"

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

// How often, at most, a run takes the GIL between steps to look for Ctrl-C and update the
// progress bar: rarely enough to cost nothing against a step, often enough to stop at once.
constexpr auto kPollEvery = std::chrono::milliseconds(100);

// A Python exception raised while the GIL was released for a run (Ctrl-C, a callback's error):
// kept until the run has stopped, then raised in the caller's thread.
struct PendingError {
  std::unique_ptr<nb::python_error> error;
  void keep(nb::python_error& e) { error = std::make_unique<nb::python_error>(std::move(e)); }
  void raise() {
    if (error) throw nb::python_error(*error);
  }
};

// One metrics row as a dict (step, replica, seed, wall_s, then the values), and a list of them.
nb::dict row_dict(const MetricsRow& r);
nb::list dicts(const std::vector<MetricsRow>& rows);

void bind_config(nb::module_& m);
void bind_data(nb::module_& m);
void bind_train(nb::module_& m);
void bind_sweep(nb::module_& m);
void bind_dislib(nb::module_& m);
void bind_probe_factors(nb::module_& m);

}  // namespace xent::py
