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

}  // namespace xent
