#include "xent/model.h"

#include <algorithm>
#include <cmath>

namespace xent {

std::vector<LayerSpec> encoder_specs(const Config& c) {
  const ModelConfig& m = c.model;
  std::vector<LayerSpec> out;
  int in = c.dgp.d;
  for (const int w : m.widths(c.dgp.d)) {
    out.push_back({.in = in,
                   .out = w,
                   .batchnorm = true,
                   .slope = m.leaky_slope,
                   .bn_eps = m.bn_eps,
                   .bn_momentum = m.bn_momentum});
    in = w;
  }
  out.push_back(
      {.in = in, .out = c.dgp.d, .slope = 0.0f, .bn_eps = m.bn_eps, .bn_momentum = m.bn_momentum});
  return out;
}

ModelLayout model_layout(const Config& c) {
  ModelLayout l{ParameterLayout(c.train.population), {}, -1};
  l.encoder = l.params.add_stack("enc", encoder_specs(c));
  l.head = l.params.add("head.weight", c.dgp.classes() * c.dgp.d);
  return l;
}

Model::Model(Backend& b, const Config& c, int64_t max_rows)
    : b_(b),
      K_(c.train.population),
      d_(c.dgp.d),
      classes_(c.dgp.classes()),
      mc_(c.model),
      specs_(encoder_specs(c)),
      layout_(model_layout(c)) {
  const int64_t total = layout_.params.total();
  params_ = DeviceArray<float>(b_, total);
  grads_ = DeviceArray<float>(b_, total);
  // The padding between tensors is never written by a backward pass: zero, so that Adam keeps
  // it (and the parameters' padding) at zero.
  b_.zero(grads_.data(), grads_.size() * sizeof(float));
  running_mean_ = DeviceArray<float>(b_, layout_.params.stat_total());
  running_var_ = DeviceArray<float>(b_, layout_.params.stat_total());
  encoder_.emplace(b_, layout_.params, specs_, layout_.encoder, max_rows,
                   LayerStack::Buffers{params_.data(), grads_.data(), running_mean_.data(),
                                       running_var_.data()});
  const int64_t rows = int64_t{K_} * max_rows;
  if (mc_.normalize_output) {
    fn_ = DeviceArray<float>(b_, rows * d_);
    norms_ = DeviceArray<float>(b_, rows);
    gfn_ = DeviceArray<float>(b_, rows * d_);
  }
  logits_ = DeviceArray<float>(b_, rows * classes_);
  gf_ = DeviceArray<float>(b_, rows * d_);
}

void Model::init(const std::vector<uint64_t>& seeds) {
  std::vector<float> host(layout_.params.total(), 0.0f);
  init_stack(layout_.params, specs_, layout_.encoder, seeds, host);
  init_uniform(layout_.params, layout_.head, 1.0 / std::sqrt(static_cast<double>(d_)), seeds, host);
  params_.upload(host);
  running_mean_.upload(std::vector<float>(running_mean_.size(), 0.0f));
  running_var_.upload(std::vector<float>(running_var_.size(), 1.0f));
}

float* Model::forward(const float* x, int64_t rows, bool train, Replicas only) {
  const int k0 = only.first;
  const int K = only.count < 0 ? K_ - k0 : only.count;
  const int64_t at = int64_t{k0} * rows;  // replica k0's first row
  const float* f = encoder_->forward(x, rows, train, only);
  if (mc_.normalize_output)
    b_.normalize_rows_forward(K * rows, d_, f + at * d_, fn_.data() + at * d_, norms_.data() + at);
  b_.linear_forward({K, rows, d_, static_cast<int>(classes_)}, features() + at * d_,
                    head() + k0 * classes_ * d_, nullptr, logits_.data() + at * classes_);
  return logits_.data();
}

const float* Model::features() const {
  return mc_.normalize_output ? fn_.data() : encoder_->output(layout_.encoder.size() - 1);
}

const float* Model::head() const {
  return params_.data() + layout_.params.tensors()[layout_.head].offset;
}

void Model::backward(const float* x, int64_t rows, Replicas only) {
  const int k0 = only.first;
  const int K = only.count < 0 ? K_ - k0 : only.count;
  const int64_t at = int64_t{k0} * rows;
  const int64_t w = layout_.params.tensors()[layout_.head].offset + k0 * classes_ * d_;
  b_.linear_backward({K, rows, d_, static_cast<int>(classes_)}, features() + at * d_,
                     params_.data() + w, logits_.data() + at * classes_, gf_.data() + at * d_,
                     grads_.data() + w, nullptr);
  const float* df = gf_.data();
  if (mc_.normalize_output) {
    b_.normalize_rows_backward(K * rows, d_, fn_.data() + at * d_, norms_.data() + at,
                               gf_.data() + at * d_, gfn_.data() + at * d_);
    df = gfn_.data();
  }
  encoder_->backward(x, rows, df, nullptr, only);
}

void Model::normalize_head() {
  float* w = params_.data() + layout_.params.tensors()[layout_.head].offset;
  b_.normalize_rows_forward(K_ * classes_, d_, w, w, nullptr);
}

}  // namespace xent
