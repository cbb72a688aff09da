#include "xent/model.h"

#include <algorithm>
#include <cmath>

#include "xent/philox.h"

namespace xent {

int64_t Model::add_tensor(const std::string& name, int64_t size) {
  tensors_.push_back({name, total_, size});
  total_ += size * K_;
  return static_cast<int64_t>(tensors_.size()) - 1;
}

Model::Model(Backend& b, const Config& c, int64_t max_rows)
    : b_(b),
      K_(c.train.population),
      d_(c.dgp.d),
      classes_(c.dgp.classes()),
      max_rows_(max_rows),
      mc_(c.model) {
  const std::vector<int> widths = mc_.widths(d_);
  int in = d_;
  int64_t stats = 0;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string p = "enc." + std::to_string(i) + ".";
    const int out = widths[i];
    Layer l{in,
            out,
            add_tensor(p + "weight", int64_t{out} * in),
            add_tensor(p + "bias", out),
            add_tensor(p + "bn.weight", out),
            add_tensor(p + "bn.bias", out)};
    layers_.push_back(l);
    stat_off_.push_back(stats);
    stats += int64_t{K_} * out;
    in = out;
  }
  const std::string p = "enc." + std::to_string(widths.size()) + ".";
  layers_.push_back(
      {in, d_, add_tensor(p + "weight", int64_t{d_} * in), add_tensor(p + "bias", d_), -1, -1});
  head_ = add_tensor("head.weight", classes_ * d_);

  params_ = DeviceArray<float>(b_, total_);
  grads_ = DeviceArray<float>(b_, total_);
  running_mean_ = DeviceArray<float>(b_, stats);
  running_var_ = DeviceArray<float>(b_, stats);
  mean_ = DeviceArray<float>(b_, stats);
  rstd_ = DeviceArray<float>(b_, stats);
  const int64_t rows = int64_t{K_} * max_rows_;
  int widest = d_;
  for (int w : widths) {
    h_.emplace_back(b_, rows * w);
    a_.emplace_back(b_, rows * w);
    widest = std::max(widest, w);
  }
  f_ = DeviceArray<float>(b_, rows * d_);
  if (mc_.normalize_output) {
    fn_ = DeviceArray<float>(b_, rows * d_);
    norms_ = DeviceArray<float>(b_, rows);
  }
  logits_ = DeviceArray<float>(b_, rows * classes_);
  g0_ = DeviceArray<float>(b_, rows * widest);
  g1_ = DeviceArray<float>(b_, rows * widest);
}

void Model::init(const std::vector<uint64_t>& seeds) {
  std::vector<float> host(total_, 0.0f);
  auto uniform_fill = [&](int64_t ti, double bound) {
    const ParamTensor& pt = t(ti);
    for (int k = 0; k < K_; ++k) {
      Philox rng(seeds[k], rng_stream(RngPurpose::Init, static_cast<uint64_t>(ti)), 0);
      float* dst = host.data() + pt.offset + k * pt.size;
      for (int64_t i = 0; i < pt.size; ++i)
        dst[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * bound);
    }
  };
  auto const_fill = [&](int64_t ti, float v) {
    const ParamTensor& pt = t(ti);
    std::fill(host.begin() + pt.offset, host.begin() + pt.offset + K_ * pt.size, v);
  };
  for (const Layer& l : layers_) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
    uniform_fill(l.w, bound);
    uniform_fill(l.b, bound);
    if (l.gamma >= 0) {
      const_fill(l.gamma, 1.0f);
      const_fill(l.beta, 0.0f);
    }
  }
  uniform_fill(head_, 1.0 / std::sqrt(static_cast<double>(d_)));
  params_.upload(host);
  std::vector<float> zeros(running_mean_.size(), 0.0f), ones(running_var_.size(), 1.0f);
  running_mean_.upload(zeros);
  running_var_.upload(ones);
}

float* Model::forward(const float* x, int64_t rows, bool train) {
  float* P = params_.data();
  const float* in = x;
  const size_t hidden = layers_.size() - 1;
  for (size_t i = 0; i < hidden; ++i) {
    const Layer& l = layers_[i];
    b_.linear_forward({K_, rows, l.in, l.out}, in, P + t(l.w).offset, P + t(l.b).offset,
                      h_[i].data());
    const BatchNormShape s{K_, rows, l.out, mc_.bn_eps, mc_.bn_momentum, mc_.leaky_slope};
    const int64_t so = stat_off_[i];
    if (train)
      b_.batchnorm_act_forward_train(s, h_[i].data(), P + t(l.gamma).offset, P + t(l.beta).offset,
                                     a_[i].data(), mean_.data() + so, rstd_.data() + so,
                                     running_mean_.data() + so, running_var_.data() + so);
    else
      b_.batchnorm_act_forward_eval(s, h_[i].data(), P + t(l.gamma).offset, P + t(l.beta).offset,
                                    running_mean_.data() + so, running_var_.data() + so,
                                    a_[i].data());
    in = a_[i].data();
  }
  const Layer& o = layers_.back();
  b_.linear_forward({K_, rows, o.in, o.out}, in, P + t(o.w).offset, P + t(o.b).offset, f_.data());
  if (mc_.normalize_output)
    b_.normalize_rows_forward(K_ * rows, d_, f_.data(), fn_.data(), norms_.data());
  b_.linear_forward({K_, rows, d_, static_cast<int>(classes_)}, features(), P + t(head_).offset,
                    nullptr, logits_.data());
  return logits_.data();
}

std::vector<ParamTensor> Model::stat_tensors() const {
  std::vector<ParamTensor> out;
  for (size_t i = 0; i + 1 < layers_.size(); ++i)
    out.push_back({"enc." + std::to_string(i) + ".bn", stat_off_[i], layers_[i].out});
  return out;
}

const float* Model::features() const { return mc_.normalize_output ? fn_.data() : f_.data(); }

const float* Model::head() const { return params_.data() + t(head_).offset; }

void Model::backward(const float* x, int64_t rows) {
  float* P = params_.data();
  float* G = grads_.data();
  float* gx = g0_.data();
  float* gy = g1_.data();
  b_.linear_backward({K_, rows, d_, static_cast<int>(classes_)}, features(), P + t(head_).offset,
                     logits_.data(), gx, G + t(head_).offset, nullptr);
  if (mc_.normalize_output) {
    b_.normalize_rows_backward(K_ * rows, d_, fn_.data(), norms_.data(), gx, gy);
    std::swap(gx, gy);
  }
  // gx holds d(loss)/d(f); walk the layers back, gx always the gradient at a layer's output.
  const size_t hidden = layers_.size() - 1;
  for (size_t j = layers_.size(); j-- > 0;) {
    const Layer& l = layers_[j];
    const float* dy = gx;
    if (j < hidden) {
      const int64_t so = stat_off_[j];
      b_.batchnorm_act_backward({K_, rows, l.out, mc_.bn_eps, mc_.bn_momentum, mc_.leaky_slope},
                                h_[j].data(), a_[j].data(), P + t(l.gamma).offset,
                                mean_.data() + so, rstd_.data() + so, gx, gy, G + t(l.gamma).offset,
                                G + t(l.beta).offset);
      dy = gy;
    }
    const float* in = j == 0 ? x : a_[j - 1].data();
    float* dx = j == 0 ? nullptr : (dy == gx ? gy : gx);
    b_.linear_backward({K_, rows, l.in, l.out}, in, P + t(l.w).offset, dy, dx, G + t(l.w).offset,
                       G + t(l.b).offset);
    if (dx) gx = dx, gy = (dx == g0_.data() ? g1_.data() : g0_.data());
  }
}

void Model::normalize_head() {
  float* w = params_.data() + t(head_).offset;
  b_.normalize_rows_forward(K_ * classes_, d_, w, w, nullptr);
}

}  // namespace xent
