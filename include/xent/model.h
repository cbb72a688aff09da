// The encoder f (Linear + BatchNorm + LeakyReLU hidden layers, a linear output layer) and the
// bias-free head W, for K replicas at once. All parameters of all replicas live in one flat
// buffer, tensor after tensor, each tensor stored [K][size], so that one Adam call updates
// them all and each op sees its replica-major layout.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/config.h"

namespace xent {

struct ParamTensor {
  std::string name;  // e.g. "enc.0.weight"
  int64_t offset;    // of replica 0 in the flat buffer; replica k is at offset + k * size
  int64_t size;      // elements per replica
};

class Model {
 public:
  // max_rows: the largest batch a forward pass will see.
  Model(Backend& b, const Config& c, int64_t max_rows);

  // PyTorch's default initialisation (U(+-1/sqrt(fan_in)) weights and biases, BatchNorm
  // gamma 1, beta 0, running mean 0, variance 1), from Philox keyed by each replica's seed.
  void init(const std::vector<uint64_t>& seeds);

  // x [K][rows][d] -> logits [K][rows][classes]. In training mode the batch statistics are
  // used and the running statistics updated.
  float* forward(const float* x, int64_t rows, bool train);
  // The encoder output of the last forward (after the optional projection), [K][rows][d].
  const float* features() const;
  // Expects d(loss)/d(logits) in the logits buffer; fills grads() for the last forward.
  void backward(const float* x, int64_t rows);
  // Projects the rows of W onto the unit sphere (the normalize_head option).
  void normalize_head();

  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  int64_t num_params() const { return total_; }  // all replicas
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  // BatchNorm running statistics: "enc.<i>.bn" per hidden layer, offsets into running_mean()
  // and running_var(), each stored [K][width] like the parameters. Checkpoints need them:
  // they are state that evaluation reads but no gradient touches.
  std::vector<ParamTensor> stat_tensors() const;
  float* running_mean() { return running_mean_.data(); }
  float* running_var() { return running_var_.data(); }
  const float* head() const;  // [K][classes][d]
  int K() const { return K_; }
  int64_t classes() const { return classes_; }

 private:
  struct Layer {
    int in, out;
    int64_t w, b, gamma, beta;  // tensor indices; gamma/beta -1 for the output layer
  };
  const ParamTensor& t(int64_t i) const { return tensors_[i]; }
  int64_t add_tensor(const std::string& name, int64_t size);

  Backend& b_;
  int K_, d_;
  int64_t classes_, max_rows_;
  ModelConfig mc_;
  std::vector<Layer> layers_;  // hidden layers then the output layer
  int64_t head_ = 0;           // tensor index of W
  std::vector<ParamTensor> tensors_;
  int64_t total_ = 0;
  DeviceArray<float> params_, grads_;
  DeviceArray<float> running_mean_, running_var_, mean_, rstd_;  // per hidden layer, packed
  std::vector<int64_t> stat_off_;                                // per hidden layer
  std::vector<DeviceArray<float>> h_, a_;                        // per hidden layer
  DeviceArray<float> f_, fn_, norms_, logits_, g0_, g1_;
};

}  // namespace xent
