// The shapes and parameters of the backend's ops: what the Backend interface (xent/backend.h)
// and the kernels' launchers (kernels/<op>.h) share. Kernel code includes this header, not
// backend.h, so that nvcc compiles nothing of the host runtime.
#pragma once
#include <cstdint>

namespace xent {

struct LinearShape {
  int K = 1;
  int64_t rows = 0;  // batch rows
  int in = 0;
  int out = 0;
};

struct BatchNormShape {
  int K = 1;
  int64_t rows = 0;
  int width = 0;
  float eps = 1e-5f;      // PyTorch BatchNorm1d default
  float momentum = 0.1f;  // running = (1 - momentum) * running + momentum * batch statistic
  float slope = 0.01f;    // LeakyReLU negative slope applied after the affine transform
};

struct XentShape {
  int K = 1;
  int64_t rows = 0;
  int64_t classes = 0;
};

// F binary logistic regressions fitted at once on the same rows (the classification probe).
struct LogisticShape {
  int64_t rows = 0;
  int fits = 0;
};

// F multinomial (softmax) logistic regressions of `classes` classes each, fitted at once on the
// same rows (the classification probe's targets with more than two classes).
struct MultinomialShape {
  int64_t rows = 0;
  int fits = 0;
  int classes = 0;
};

// Rows per block of logistic_loss's and multinomial_loss's sums (see the op list below): 8 runs
// of 32.
inline constexpr int64_t kLogisticBlock = 256;

struct AdamParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  int64_t step = 1;  // 1-based step number, for the bias corrections
};

// Adam's bias corrections at one step, as the CPU twin computes them (cpu::adam_correction):
// the update is param -= step_size * m / (sqrt(v) / bc2_sqrt + eps).
struct AdamCorrection {
  float step_size;  // lr / (1 - beta1^t)
  float bc2_sqrt;   // sqrt(1 - beta2^t)
};

}  // namespace xent
