#include "xent/layers.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "xent/error.h"
#include "xent/philox.h"

namespace xent {

int64_t ParameterLayout::add(const std::string& name, int64_t size) {
  tensors_.push_back({name, total_, size});
  total_ += (size * K_ + kTensorAlign - 1) / kTensorAlign * kTensorAlign;
  return static_cast<int64_t>(tensors_.size()) - 1;
}

std::vector<LayerTensors> ParameterLayout::add_stack(const std::string& prefix,
                                                     const std::vector<LayerSpec>& specs,
                                                     int first) {
  std::vector<LayerTensors> out;
  for (size_t i = 0; i < specs.size(); ++i) {
    const LayerSpec& s = specs[i];
    const std::string p = prefix + "." + std::to_string(first + static_cast<int>(i)) + ".";
    LayerTensors t;
    t.weight = add(p + "weight", int64_t{s.out} * s.in);
    if (s.bias) t.bias = add(p + "bias", s.out);
    if (s.batchnorm) {
      t.gamma = add(p + "bn.weight", s.out);
      t.beta = add(p + "bn.bias", s.out);
      stats_.push_back({p + "bn", stat_total_, s.out});
      stat_total_ += (int64_t{s.out} * K_ + kTensorAlign - 1) / kTensorAlign * kTensorAlign;
      t.stats = static_cast<int64_t>(stats_.size()) - 1;
    }
    out.push_back(t);
  }
  return out;
}

const ParamTensor* ParameterLayout::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

LayerStack::LayerStack(Backend& b, const ParameterLayout& layout, std::vector<LayerSpec> specs,
                       std::vector<LayerTensors> tensors, int64_t max_rows, Buffers buffers)
    : b_(b), K_(layout.K()), specs_(std::move(specs)), buf_(buffers), max_rows_(max_rows) {
  if (specs_.empty() || specs_.size() != tensors.size())
    throw InputError("a layer stack needs one tensor set per layer");
  const auto offset = [&](int64_t i) { return i < 0 ? int64_t{-1} : layout.tensors()[i].offset; };
  const int64_t rows = int64_t{K_} * max_rows_;
  int widest = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    const LayerSpec& s = specs_[i];
    const LayerTensors& t = tensors[i];
    at_.push_back({offset(t.weight), offset(t.bias), offset(t.gamma), offset(t.beta),
                   t.stats < 0 ? -1 : layout.stats()[t.stats].offset});
    h_.emplace_back(b_, rows * s.out);
    a_.emplace_back(b_, s.batchnorm ? rows * s.out : 0);
    widest = std::max({widest, s.in, s.out});
  }
  mean_ = DeviceArray<float>(b_, layout.stat_total());
  rstd_ = DeviceArray<float>(b_, layout.stat_total());
  g0_ = DeviceArray<float>(b_, rows * widest);
  g1_ = DeviceArray<float>(b_, rows * widest);
}

float* LayerStack::output(size_t i) { return specs_[i].batchnorm ? a_[i].data() : h_[i].data(); }

const float* LayerStack::output(size_t i) const {
  return specs_[i].batchnorm ? a_[i].data() : h_[i].data();
}

float* LayerStack::forward(const float* x, int64_t rows, bool train, Replicas only) {
  const int k0 = only.first;
  const int K = only.count < 0 ? K_ - k0 : only.count;
  const float* in = x;
  for (size_t i = 0; i < specs_.size(); ++i) {
    switch (specs_[i].kind) {
      case LayerKind::Dense:
        dense_forward(i, in + int64_t{k0} * rows * specs_[i].in, rows, train, k0, K);
        break;
    }
    in = output(i);
  }
  return output(specs_.size() - 1);
}

void LayerStack::backward(const float* x, int64_t rows, const float* dy, float* dx, Replicas only) {
  const int k0 = only.first;
  const int K = only.count < 0 ? K_ - k0 : only.count;
  // cur: the gradient at layer j's output, from replica k0 on. A scratch buffer is reused as
  // soon as the gradient it holds has been consumed (a run of replicas uses each from its
  // start); the caller's dy is only read.
  const float* cur = dy + int64_t{k0} * rows * specs_.back().out;
  for (size_t j = specs_.size(); j-- > 0;) {
    const int64_t in_at = int64_t{k0} * rows * specs_[j].in;
    const float* in = (j == 0 ? x : output(j - 1)) + in_at;
    float* first_dx = j == 0 && dx ? dx + in_at : nullptr;
    switch (specs_[j].kind) {
      case LayerKind::Dense:
        cur = dense_backward(j, in, rows, cur, first_dx, k0, K);
        break;
    }
  }
}

float* LayerStack::scratch_other_than(const float* p) {
  return p == g0_.data() ? g1_.data() : g0_.data();
}

void LayerStack::dense_forward(size_t i, const float* in, int64_t rows, bool train, int k0, int K) {
  const float* P = buf_.params;
  const LayerSpec& s = specs_[i];
  const Offsets& o = at_[i];
  // Replica k0's slice of each tensor ([K][size] per tensor) and of each [K][rows][w] buffer.
  const int64_t out_at = int64_t{k0} * rows * s.out;
  const int64_t col = int64_t{k0} * s.out;
  // Before a BatchNorm, the bias is folded into its reads (h_ holds the bare product).
  const float* bias = o.b < 0 ? nullptr : P + o.b + col;
  b_.linear_forward({K, rows, s.in, s.out}, in, P + o.w + col * s.in, s.batchnorm ? nullptr : bias,
                    h_[i].data() + out_at);
  if (!s.batchnorm) return;
  const BatchNormShape bs{K, rows, s.out, s.bn_eps, s.bn_momentum, s.slope};
  const int64_t st = o.stat + col;
  if (train)
    b_.batchnorm_act_forward_train(
        bs, h_[i].data() + out_at, bias, P + o.gamma + col, P + o.beta + col, a_[i].data() + out_at,
        mean_.data() + st, rstd_.data() + st, buf_.running_mean + st, buf_.running_var + st);
  else
    b_.batchnorm_act_forward_eval(bs, h_[i].data() + out_at, bias, P + o.gamma + col,
                                  P + o.beta + col, buf_.running_mean + st, buf_.running_var + st,
                                  a_[i].data() + out_at);
}

const float* LayerStack::dense_backward(size_t j, const float* in, int64_t rows, const float* dy,
                                        float* first_dx, int k0, int K) {
  const float* P = buf_.params;
  float* G = buf_.grads;
  const LayerSpec& s = specs_[j];
  const Offsets& o = at_[j];
  const int64_t out_at = int64_t{k0} * rows * s.out, col = int64_t{k0} * s.out;
  const float* d = dy;
  const float* bias = o.b < 0 ? nullptr : P + o.b + col;
  float* dbias = o.b < 0 ? nullptr : G + o.b + col;
  if (s.batchnorm) {
    float* dh = scratch_other_than(dy);
    const int64_t st = o.stat + col;
    // The folded bias's gradient comes with dh, so the linear layer computes none.
    b_.batchnorm_act_backward({K, rows, s.out, s.bn_eps, s.bn_momentum, s.slope},
                              h_[j].data() + out_at, bias, a_[j].data() + out_at, P + o.gamma + col,
                              mean_.data() + st, rstd_.data() + st, dy, dh, dbias,
                              G + o.gamma + col, G + o.beta + col);
    d = dh;
    dbias = nullptr;
  }
  float* dx = j == 0 ? first_dx : scratch_other_than(d);
  b_.linear_backward({K, rows, s.in, s.out}, in, P + o.w + col * s.in, d, dx, G + o.w + col * s.in,
                     dbias);
  return dx;
}

void init_uniform(const ParameterLayout& layout, int64_t tensor, double bound,
                  const std::vector<uint64_t>& seeds, std::vector<float>& host) {
  const ParamTensor& pt = layout.tensors()[tensor];
  for (int k = 0; k < layout.K(); ++k) {
    Philox rng(seeds[k], rng_stream(RngPurpose::Init, static_cast<uint64_t>(tensor)), 0);
    float* dst = host.data() + pt.offset + k * pt.size;
    for (int64_t i = 0; i < pt.size; ++i)
      dst[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
  }
}

void init_stack(const ParameterLayout& layout, const std::vector<LayerSpec>& specs,
                const std::vector<LayerTensors>& tensors, const std::vector<uint64_t>& seeds,
                std::vector<float>& host) {
  const auto fill = [&](int64_t tensor, float v) {
    const ParamTensor& pt = layout.tensors()[tensor];
    std::fill_n(host.begin() + pt.offset, layout.K() * pt.size, v);
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    const LayerTensors& t = tensors[i];
    const double bound = 1.0 / std::sqrt(static_cast<double>(specs[i].in));
    init_uniform(layout, t.weight, bound, seeds, host);
    if (t.bias >= 0) init_uniform(layout, t.bias, bound, seeds, host);
    if (t.gamma >= 0) {
      fill(t.gamma, 1.0f);
      fill(t.beta, 0.0f);
    }
  }
}

}  // namespace xent
