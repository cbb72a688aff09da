// One layer stack for every model xent trains (the synthetic experiment's encoder, the DisLib
// classifiers), for K replicas at once, and the layout of their parameters in one flat buffer.
// Its layers are of a kind (LayerKind): today dense layers (Linear, optionally followed by
// BatchNorm and a LeakyReLU); a new kind (a convolution, a pooling, a residual block) is a value
// of LayerKind with its fields in LayerSpec, its tensors in ParameterLayout::add_stack, its
// initialisation in init_stack and its forward and backward in LayerStack, beside the dense
// ones, so that every model stays one stack and one flat buffer.
//
// The layout is computed from shapes alone, without backend memory, so that a checkpoint reader
// or a Python binding can name and size every tensor of a config without building a model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "xent/backend.h"

namespace xent {

// A named tensor of a flat buffer: replica k's values are at offset + k * size.
struct ParamTensor {
  std::string name;  // e.g. "enc.0.weight"
  int64_t offset;    // of replica 0, a multiple of kTensorAlign floats
  int64_t size;      // elements per replica
};

// A named part of a trainer's state in backend memory, as a checkpoint holds it: K replicas of
// `size` floats, replica k at data + k * size.
struct StateTensor {
  std::string name;
  float* data;
  int64_t size;
};

// Every tensor starts on a 16-byte boundary (4 floats): vector loads (float4 in the kernels,
// AVX on the CPU) and cuBLAS's fastest paths need aligned operands. The padding between tensors
// is zero in the parameters, gradients and Adam moments, so Adam leaves it at zero.
inline constexpr int64_t kTensorAlign = 4;

enum class LayerKind {
  Dense,  // y = act(BN(x W^T + b)): Linear, then optionally BatchNorm and a LeakyReLU
};

struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  // Values per row in and out (a dense layer's features).
  int in = 0, out = 0;
  bool bias = true;
  // Linear, then BatchNorm (batch statistics in training, running ones in evaluation) and a
  // LeakyReLU with this slope (0: ReLU). Without it the layer is Linear only.
  bool batchnorm = false;
  float slope = 0.01f;
  float bn_eps = 1e-5f;
  float bn_momentum = 0.1f;
};

// Where one layer's tensors are: indices into ParameterLayout::tensors() (-1: absent), and its
// BatchNorm statistics' index into stats().
struct LayerTensors {
  int64_t weight = -1, bias = -1, gamma = -1, beta = -1, stats = -1;
};

// The flat parameter buffer of K replicas, tensor after tensor, each stored [K][size], and the
// BatchNorm running statistics in buffers of their own (state that evaluation reads but no
// gradient touches), laid out the same way.
class ParameterLayout {
 public:
  explicit ParameterLayout(int K) : K_(K) {}
  // A tensor of `size` values per replica, appended at the next aligned offset; returns its index.
  int64_t add(const std::string& name, int64_t size);
  // A stack's layers named prefix.<i>.weight, .bias, .bn.weight, .bn.bias (statistics
  // prefix.<i>.bn), numbered from `first`.
  std::vector<LayerTensors> add_stack(const std::string& prefix,
                                      const std::vector<LayerSpec>& specs, int first = 0);
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  const std::vector<ParamTensor>& stats() const { return stats_; }
  int64_t total() const { return total_; }  // floats in the parameter buffer, all replicas
  int64_t stat_total() const { return stat_total_; }
  int K() const { return K_; }
  // The tensor of that name, or null.
  const ParamTensor* find(const std::string& name) const;

 private:
  int K_;
  std::vector<ParamTensor> tensors_, stats_;
  int64_t total_ = 0, stat_total_ = 0;
};

// A run of replicas [first, first + count) of a population; count < 0: all of them.
struct Replicas {
  int first = 0;
  int count = -1;
};

// The layers of a stack with the buffers they need for batches of up to max_rows rows per
// replica. Parameters, gradients and statistics belong to the caller (one flat buffer per
// model, so that one Adam call updates every tensor).
class LayerStack {
 public:
  struct Buffers {
    float* params;
    float* grads;
    float* running_mean;
    float* running_var;
  };
  LayerStack(Backend& b, const ParameterLayout& layout, std::vector<LayerSpec> specs,
             std::vector<LayerTensors> tensors, int64_t max_rows, Buffers buffers);

  // x [K][rows][in] -> the last layer's output [K][rows][out]. Training mode uses the batch
  // statistics and updates the running ones. When the last layer has no BatchNorm, backward
  // does not read its output: the caller may overwrite it (softmax_xent writes the loss
  // gradient over the logits). With `only`, just those replicas' rows are computed (pointers
  // still address all K replicas); replicas are independent, so a population may go through
  // in runs of replicas and get the same bits.
  float* forward(const float* x, int64_t rows, bool train, Replicas only = {});
  // The output of layer i of the last forward (its activation, or the Linear's output for a
  // layer without BatchNorm).
  float* output(size_t i);
  const float* output(size_t i) const;
  // dy: d(loss)/d(output) of the last forward [K][rows][out]. Accumulates nothing: writes every
  // gradient of the stack, and dx (d(loss)/d(x)) when it is not null.
  void backward(const float* x, int64_t rows, const float* dy, float* dx, Replicas only = {});

  int in() const { return specs_.front().in; }
  int out() const { return specs_.back().out; }

 private:
  // Layer i of each kind over replicas [k0, k0 + K) (pointers at replica k0's rows). Forward
  // reads `in` and writes output(i). Backward takes dy, the gradient at the layer's output, and
  // returns the gradient at its input: written to first_dx for the first layer (null: none),
  // otherwise to a scratch buffer other than the one dy is in (scratch_other_than).
  void dense_forward(size_t i, const float* in, int64_t rows, bool train, int k0, int K);
  const float* dense_backward(size_t j, const float* in, int64_t rows, const float* dy,
                              float* first_dx, int k0, int K);
  float* scratch_other_than(const float* p);

  Backend& b_;
  int K_;
  std::vector<LayerSpec> specs_;
  struct Offsets {
    int64_t w, b, gamma, beta, stat;  // into the buffers; -1 absent
  };
  std::vector<Offsets> at_;
  Buffers buf_;
  int64_t max_rows_;
  std::vector<DeviceArray<float>> h_, a_;  // per layer: Linear output, activation (BN layers)
  DeviceArray<float> mean_, rstd_;         // the batch statistics, laid out as the running ones
  DeviceArray<float> g0_, g1_;             // gradients between layers
};

// PyTorch's default initialisation of a stack in a host image of the flat buffer (zero where
// nothing is written): weights and biases U(+-1/sqrt(fan_in)), BatchNorm gamma 1 and beta 0.
void init_stack(const ParameterLayout& layout, const std::vector<LayerSpec>& specs,
                const std::vector<LayerTensors>& tensors, const std::vector<uint64_t>& seeds,
                std::vector<float>& host);
// Tensor i of every replica from U(-bound, bound): replica k's values are the uniforms of
// Philox(seeds[k], rng_stream(Init, i)) in order, as floats (2u - 1) * bound.
void init_uniform(const ParameterLayout& layout, int64_t tensor, double bound,
                  const std::vector<uint64_t>& seeds, std::vector<float>& host);

}  // namespace xent
