// NumPy .npy files: read float32/float64 (and int32/int64) arrays, write float32/int32/int64.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace xent {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<double> data;  // converted to double, C order
};

// Reads a C-order or Fortran-order .npy of float32, float64, int32 or int64 (little endian).
// Throws InputError naming the file and what is wrong (missing, bad magic, unsupported dtype,
// truncated data, ...).
NpyArray read_npy(const std::string& path);
// The same on a file's bytes, for data that is not in a file; path only names it in errors.
NpyArray parse_npy(std::string_view bytes, const std::string& path);

// Writes a C-order array. The file is written to path + ".tmp" and renamed into place.
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, const double* data, const std::vector<int64_t>& shape);

}  // namespace xent
