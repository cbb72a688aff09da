// Errors that reach the user: one line, naming the key or file and the problem.
#pragma once
#include <stdexcept>
#include <string>

namespace xent {

// Bad input from the user (config, flags, files). The CLI prints what() and exits with 2.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A run whose loss, parameters or features became NaN or infinite. The CLI exits with 3.
struct DivergedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failure of the GPU or its runtime (a launch, an allocation, a copy): what() names the call
// or kernel and CUDA's error. The CLI exits with 4.
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace xent
