// What a kernel test (tests/<op>_kernel_test.cpp) needs to run the same assertions twice: in
// xent_tests, against the kernels compiled for the SIMT emulator (XENT_EMULATED), and in
// xent_gpu_tests, against the nvcc-compiled kernels on a real GPU. The reference is always the
// CPU backend's op (host/cpu/ops.h).
#pragma once
#if defined(XENT_EMULATED)
#include "simt/simt.h"  // the emulator's runtime, under CUDA's names
#else
#include <cuda_runtime.h>
#endif

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace xent::test {

// Where the kernels run, for messages.
inline const char* kernel_target() {
#if defined(XENT_EMULATED)
  return "SIMT emulator";
#else
  return "GPU";
#endif
}

// Empty when a device can run kernels, else why not (only a real GPU can be missing).
inline std::string missing_device() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(e);
  if (count == 0) return "no CUDA device";
  return "";
}

// Whether a missing device fails the test instead of skipping it: XENT_REQUIRE_GPU=1, which
// tools/gpu-check sets, so that a GPU machine whose driver is too old for the toolkit (every test
// would skip) does not pass its test stage.
inline bool gpu_required() {
  const char* v = std::getenv("XENT_REQUIRE_GPU");
  return v && std::string(v) == "1";
}

// First statement of every kernel test: skips with the reason when no device is present.
#define XENT_REQUIRE_DEVICE()                                                              \
  do {                                                                                     \
    const std::string xent_missing = ::xent::test::missing_device();                       \
    if (!xent_missing.empty()) {                                                           \
      if (::xent::test::gpu_required()) FAIL() << xent_missing << " (XENT_REQUIRE_GPU=1)"; \
      GTEST_SKIP() << xent_missing << "; the GPU run skips";                               \
    }                                                                                      \
  } while (0)

// Device memory holding a copy of host data; the test reads it back with download().
template <typename T>
class DeviceVector {
 public:
  explicit DeviceVector(size_t n) : n_(n) {
    if (n_ && cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)) != cudaSuccess)
      throw std::runtime_error("cudaMalloc failed");
  }
  explicit DeviceVector(const std::vector<T>& host) : DeviceVector(host.size()) { upload(host); }
  ~DeviceVector() {
    if (p_) cudaFree(p_);
  }
  DeviceVector(const DeviceVector&) = delete;
  DeviceVector& operator=(const DeviceVector&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& host) {
    if (host.size() != n_) throw std::runtime_error("DeviceVector::upload: size mismatch");
    if (n_ && cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice) != cudaSuccess)
      throw std::runtime_error("cudaMemcpy to the device failed");
  }
  // Synchronises: a kernel's own failure surfaces here.
  std::vector<T> download() const {
    std::vector<T> out(n_);
    if (n_ && cudaMemcpy(out.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost) != cudaSuccess)
      throw std::runtime_error(std::string("cudaMemcpy from the device failed: ") +
                               cudaGetErrorString(cudaGetLastError()));
    return out;
  }

 private:
  size_t n_;
  T* p_ = nullptr;
};

// Whether the kernels were compiled by g++ for the emulator. Then a kernel that evaluates its
// CPU twin's expression in the same order gives the same bits (g++ on x86-64 does not contract
// a * b + c into an FMA); nvcc does contract, so on a GPU the same code differs in the last
// bits, and tests compare with tolerances that say so.
constexpr bool kEmulated =
#if defined(XENT_EMULATED)
    true;
#else
    false;
#endif

// Normal(0, scale^2) test data, reproducible from the seed.
inline std::vector<float> normals(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> out(n);
  for (float& x : out) x = dist(gen);
  return out;
}

// U(-1, 1) test data, reproducible from the seed.
inline std::vector<float> uniforms(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> out(n);
  for (float& x : out) x = dist(gen);
  return out;
}

// Float and double epsilons (2^-23, 2^-52), for tolerances of the form c * eps * scale.
constexpr double kEpsFloat = 0x1p-23;
constexpr double kEpsDouble = 0x1p-52;

// The element count of an a x b x c array, as a size_t.
inline size_t count(int64_t a, int64_t b, int64_t c = 1) { return static_cast<size_t>(a * b * c); }

inline uint32_t float_bits(float f) {
  uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

}  // namespace xent::test
