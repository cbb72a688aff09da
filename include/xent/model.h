// The synthetic experiment's model for K replicas at once: the encoder f (hidden layers of
// Linear + BatchNorm + LeakyReLU, a linear output layer; the shared layer stack of layers.h),
// the optional projection of f(x) onto the sphere, and the bias-free head W. All parameters of
// all replicas live in one flat buffer (model_layout), so that one Adam call updates them all.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/config.h"
#include "xent/layers.h"

namespace xent {

// The layers of the encoder: the hidden widths of c.model, then d.
std::vector<LayerSpec> encoder_specs(const Config& c);

// The model's tensors, shapes and offsets, from the config alone: "enc.<i>.weight", ".bias",
// ".bn.weight", ".bn.bias" per encoder layer, then "head.weight" ([classes][d]); BatchNorm
// statistics "enc.<i>.bn". K = c.train.population.
struct ModelLayout {
  ParameterLayout params;
  std::vector<LayerTensors> encoder;
  int64_t head = -1;  // tensor index of W
};
ModelLayout model_layout(const Config& c);

class Model {
 public:
  // max_rows: the largest batch a forward pass will see.
  Model(Backend& b, const Config& c, int64_t max_rows);

  // PyTorch's default initialisation (U(+-1/sqrt(fan_in)) weights and biases, BatchNorm
  // gamma 1, beta 0, running mean 0, variance 1), from Philox keyed by each replica's seed,
  // one stream per tensor (its index in the layout).
  void init(const std::vector<uint64_t>& seeds);

  // x [K][rows][d] -> logits [K][rows][classes]. In training mode the batch statistics are
  // used and the running statistics updated. `only`: just those replicas (LayerStack::forward).
  float* forward(const float* x, int64_t rows, bool train, Replicas only = {});
  // The encoder output of the last forward (after the optional projection), [K][rows][d].
  const float* features() const;
  // Expects d(loss)/d(logits) in the logits buffer; fills grads() for the last forward.
  void backward(const float* x, int64_t rows, Replicas only = {});
  // Projects the rows of W onto the unit sphere (the normalize_head option).
  void normalize_head();

  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  int64_t num_params() const { return layout_.params.total(); }  // all replicas, with padding
  const std::vector<ParamTensor>& tensors() const { return layout_.params.tensors(); }
  const ParameterLayout& param_layout() const { return layout_.params; }
  // BatchNorm running statistics: "enc.<i>.bn" per hidden layer, offsets into running_mean()
  // and running_var(), each stored [K][width] like the parameters. Checkpoints need them:
  // they are state that evaluation reads but no gradient touches.
  const std::vector<ParamTensor>& stat_tensors() const { return layout_.params.stats(); }
  float* running_mean() { return running_mean_.data(); }
  float* running_var() { return running_var_.data(); }
  size_t stat_size() const { return running_mean_.size(); }  // floats in each, all replicas
  const float* head() const;                                 // [K][classes][d]
  int K() const { return K_; }
  int64_t classes() const { return classes_; }

 private:
  Backend& b_;
  int K_, d_;
  int64_t classes_;
  ModelConfig mc_;
  std::vector<LayerSpec> specs_;
  ModelLayout layout_;
  DeviceArray<float> params_, grads_, running_mean_, running_var_;
  std::optional<LayerStack> encoder_;
  DeviceArray<float> fn_, norms_, logits_, gf_, gfn_;
};

}  // namespace xent
