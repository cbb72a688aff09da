#include "experiments/dsprites_train.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "cpu/ops.h"
#include "xent/error.h"
#include "xent/metrics.h"
#include "xent/philox.h"

namespace xent::dsprites {

void TrainOptions::validate() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw InputError(what);
  };
  const int64_t n_train = kImages * 8 / 10, n_held = kImages / 10;
  need(batch >= 2 && batch <= n_train, "--batch: must be in [2, " + std::to_string(n_train) +
                                           "] (BatchNorm needs 2 rows; one "
                                           "epoch of the training split holds " +
                                           std::to_string(n_train) + "), got " +
                                           std::to_string(batch));
  need(epochs >= 1, "--epochs: must be at least 1, got " + std::to_string(epochs));
  need(steps >= 0, "--steps: must be >= 0 (0: use --epochs), got " + std::to_string(steps));
  need(std::isfinite(lr) && lr > 0, "--lr: must be a positive number");
  need(width >= 1 && width <= 65536,
       "--width: must be in [1, 65536], got " + std::to_string(width));
  need(layers >= 1 && layers <= 16, "--layers: must be in [1, 16], got " + std::to_string(layers));
  need(probe_fit >= 2 && probe_fit <= n_held, "--probe-fit: must be in [2, " +
                                                  std::to_string(n_held) + "], got " +
                                                  std::to_string(probe_fit));
  need(probe_score >= 2 && probe_score <= n_held, "--probe-score: must be in [2, " +
                                                      std::to_string(n_held) + "], got " +
                                                      std::to_string(probe_score));
  need(eval_every >= 0, "--eval-every: must be >= 0, got " + std::to_string(eval_every));
}

int64_t TrainOptions::steps_per_epoch() const { return kImages * 8 / 10 / batch; }

int64_t TrainOptions::total_steps() const { return steps > 0 ? steps : epochs * steps_per_epoch(); }

ProbeScores probe_factors(const std::vector<int32_t>& fit, const std::vector<int32_t>& score, int p,
                          int64_t chunk,
                          const std::function<void(const int32_t*, int64_t, float*)>& features) {
  const int w = p + kTargets;
  std::vector<float> f(static_cast<size_t>(chunk) * p);
  std::vector<double> z(static_cast<size_t>(chunk) * w);
  // The moment matrix [X | Y]^T [X | Y] (upper triangle), chunk by chunk.
  std::vector<double> gram(static_cast<size_t>(w) * w, 0.0);
  for (size_t first = 0; first < fit.size(); first += static_cast<size_t>(chunk)) {
    const int64_t rows = std::min<int64_t>(chunk, static_cast<int64_t>(fit.size() - first));
    features(fit.data() + first, rows, f.data());
    for (int64_t r = 0; r < rows; ++r) {
      double* zr = z.data() + r * w;
      std::copy_n(f.data() + r * p, p, zr);
      probe_targets(fit[first + static_cast<size_t>(r)], zr + p);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, w, static_cast<int>(rows), 1.0, z.data(), w,
                1.0, gram.data(), w);
  }
  const std::vector<double> map = least_squares_from_gram(gram.data(), p, kTargets);
  // Pearson r of prediction and target over the scoring images, from running sums.
  std::array<double, kTargets> sp{}, st{}, spp{}, stt{}, spt{};
  std::vector<double> t(kTargets);
  for (size_t first = 0; first < score.size(); first += static_cast<size_t>(chunk)) {
    const int64_t rows = std::min<int64_t>(chunk, static_cast<int64_t>(score.size() - first));
    features(score.data() + first, rows, f.data());
    for (int64_t r = 0; r < rows; ++r) {
      probe_targets(score[first + static_cast<size_t>(r)], t.data());
      for (int k = 0; k < kTargets; ++k) {
        double pred = 0;
        for (int j = 0; j < p; ++j)
          pred += static_cast<double>(f[r * p + j]) * map[j * kTargets + k];
        sp[k] += pred;
        st[k] += t[k];
        spp[k] += pred * pred;
        stt[k] += t[k] * t[k];
        spt[k] += pred * t[k];
      }
    }
  }
  ProbeScores out{};
  const auto n = static_cast<double>(score.size());
  for (int k = 0; k < kTargets; ++k) {
    const double cov = spt[k] - sp[k] * st[k] / n;
    const double vp = spp[k] - sp[k] * sp[k] / n, vt = stt[k] - st[k] * st[k] / n;
    // A constant prediction (a probe that learned nothing) correlates with nothing.
    out[k] = vp > 0 && vt > 0 ? cov / std::sqrt(vp * vt) : 0.0;
  }
  return out;
}

ProbeScores probe_pixels(const std::vector<uint8_t>& masks, const std::vector<int32_t>& fit,
                         const std::vector<int32_t>& score) {
  return probe_factors(fit, score, kPixels, 1024,
                       [&](const int32_t* images, int64_t n, float* out) {
                         cpu::render_sprites(masks.data(), images, nullptr, 1, n, out, nullptr);
                       });
}

ShapeClassifier::ShapeClassifier(Backend& b, const TrainOptions& o)
    : b_(b), o_(o), split_(make_split(o.split_seed)), masks_host_(render_masks()) {
  o_.validate();
  const int64_t B = o_.batch;
  int in = kPixels;
  int64_t stats = 0;
  std::vector<int64_t> stat_off;
  for (int i = 0; i <= o_.layers; ++i) {
    const bool head = i == o_.layers;
    const int out = head ? kShapes : o_.width;
    Layer l{in, out, total_, total_ + int64_t{out} * in, -1, -1};
    total_ += int64_t{out} * in + out;
    if (!head) {
      l.gamma = total_;
      l.beta = total_ + out;
      total_ += 2 * out;
      stat_off.push_back(stats);
      stats += out;
    }
    layers_.push_back(l);
    in = out;
  }
  // PyTorch's default initialisation: U(+-1/sqrt(fan_in)) weights and biases, gamma 1, beta 0.
  std::vector<float> init(static_cast<size_t>(total_));
  for (size_t li = 0; li < layers_.size(); ++li) {
    const Layer& l = layers_[li];
    const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
    Philox rng(o_.seed, rng_stream(RngPurpose::Init, li), 0);
    for (int64_t i = l.w; i < l.b + l.out; ++i)
      init[static_cast<size_t>(i)] = static_cast<float>((2.0 * rng.uniform_double() - 1.0) * bound);
    if (l.gamma >= 0) {
      std::fill_n(init.begin() + l.gamma, l.out, 1.0f);
      std::fill_n(init.begin() + l.beta, l.out, 0.0f);
    }
  }
  params_ = DeviceArray<float>(b_, static_cast<size_t>(total_));
  params_.upload(init);
  grads_ = DeviceArray<float>(b_, static_cast<size_t>(total_));
  m_ = DeviceArray<float>(b_, static_cast<size_t>(total_));
  v_ = DeviceArray<float>(b_, static_cast<size_t>(total_));
  b_.zero(m_.data(), m_.size() * sizeof(float));
  b_.zero(v_.data(), v_.size() * sizeof(float));
  running_mean_ = DeviceArray<float>(b_, static_cast<size_t>(stats));
  running_var_ = DeviceArray<float>(b_, static_cast<size_t>(stats));
  running_mean_.upload(std::vector<float>(static_cast<size_t>(stats), 0.0f));
  running_var_.upload(std::vector<float>(static_cast<size_t>(stats), 1.0f));
  mean_ = DeviceArray<float>(b_, static_cast<size_t>(stats));
  rstd_ = DeviceArray<float>(b_, static_cast<size_t>(stats));
  for (int i = 0; i < o_.layers; ++i) {
    h_.emplace_back(b_, static_cast<size_t>(B * o_.width));
    a_.emplace_back(b_, static_cast<size_t>(B * o_.width));
  }
  masks_ = DeviceArray<uint8_t>(b_, masks_host_.size());
  masks_.upload(masks_host_);
  order_ = DeviceArray<int32_t>(b_, split_.train.size());
  eval_index_ = DeviceArray<int32_t>(b_, static_cast<size_t>(B));
  labels_ = DeviceArray<int32_t>(b_, static_cast<size_t>(B));
  x_ = DeviceArray<float>(b_, static_cast<size_t>(B) * kPixels);
  logits_ = DeviceArray<float>(b_, static_cast<size_t>(B) * kShapes);
  g0_ = DeviceArray<float>(b_, static_cast<size_t>(B * o_.width));
  g1_ = DeviceArray<float>(b_, static_cast<size_t>(B * o_.width));
  loss_ = DeviceArray<float>(b_, 1);
  b_.zero(loss_.data(), sizeof(float));
  correct_ = DeviceArray<float>(b_, 1);
  steps_done_ = DeviceArray<int64_t>(b_, 1);
  steps_done_.upload({0});
}

float* ShapeClassifier::forward(const float* x, int64_t rows, bool train) {
  float* P = params_.data();
  const float* in = x;
  for (int i = 0; i < o_.layers; ++i) {
    const Layer& l = layers_[static_cast<size_t>(i)];
    b_.linear_forward({1, rows, l.in, l.out}, in, P + l.w, P + l.b, h_[i].data());
    const BatchNormShape s{1, rows, l.out, 1e-5f, 0.1f, 0.0f};  // slope 0: ReLU
    const int64_t so = int64_t{i} * o_.width;
    if (train)
      b_.batchnorm_act_forward_train(s, h_[i].data(), P + l.gamma, P + l.beta, a_[i].data(),
                                     mean_.data() + so, rstd_.data() + so,
                                     running_mean_.data() + so, running_var_.data() + so);
    else
      b_.batchnorm_act_forward_eval(s, h_[i].data(), P + l.gamma, P + l.beta,
                                    running_mean_.data() + so, running_var_.data() + so,
                                    a_[i].data());
    in = a_[i].data();
  }
  const Layer& head = layers_.back();
  b_.linear_forward({1, rows, head.in, head.out}, in, P + head.w, P + head.b, logits_.data());
  return logits_.data();
}

void ShapeClassifier::backward(const float* x, int64_t rows) {
  float* P = params_.data();
  float* G = grads_.data();
  const Layer& head = layers_.back();
  // g0 always holds the gradient at a hidden layer's output, g1 at its pre-activation.
  b_.linear_backward({1, rows, head.in, head.out}, a_.back().data(), P + head.w, logits_.data(),
                     g0_.data(), G + head.w, G + head.b);
  for (int i = o_.layers; i-- > 0;) {
    const Layer& l = layers_[static_cast<size_t>(i)];
    const int64_t so = int64_t{i} * o_.width;
    b_.batchnorm_act_backward({1, rows, l.out, 1e-5f, 0.1f, 0.0f}, h_[i].data(), a_[i].data(),
                              P + l.gamma, mean_.data() + so, rstd_.data() + so, g0_.data(),
                              g1_.data(), G + l.gamma, G + l.beta);
    const float* in = i == 0 ? x : a_[i - 1].data();
    b_.linear_backward({1, rows, l.in, l.out}, in, P + l.w, g1_.data(),
                       i == 0 ? nullptr : g0_.data(), G + l.w, G + l.b);
  }
}

void ShapeClassifier::step() {
  const int64_t spe = o_.steps_per_epoch();
  if (step_ % spe == 0) {
    std::vector<int32_t> order = split_.train;
    shuffle(order, o_.seed, epoch_stream(step_ / spe));
    order_.upload(order);
  }
  // The recording belongs to this classifier: it replays this classifier's buffers only.
  if (!recording_) recording_ = b_.record_step([this] { issue_step(); });
  recording_->run();
  ++step_;
}

void ShapeClassifier::issue_step() {
  AdamParams a;
  a.lr = static_cast<float>(o_.lr);
  const int64_t B = o_.batch;
  const int64_t spe = o_.steps_per_epoch();
  // The same calls every step: the batch and Adam's step number come from steps_done_.
  b_.render_sprites(masks_.data(), order_.data(), steps_done_.data(), spe, B, x_.data(),
                    labels_.data());
  float* logits = forward(x_.data(), B, true);
  b_.softmax_xent({1, B, kShapes}, logits, labels_.data(), loss_.data(), nullptr, true);
  backward(x_.data(), B);
  b_.increment(steps_done_.data());
  b_.adam(total_, params_.data(), grads_.data(), m_.data(), v_.data(), a, steps_done_.data());
}

float ShapeClassifier::last_loss() const { return loss_.download()[0]; }

EvalResult ShapeClassifier::evaluate(const std::vector<int32_t>& images, float* features) {
  const int64_t B = o_.batch, n = static_cast<int64_t>(images.size());
  double loss = 0, hits = 0;
  for (int64_t first = 0; first < n; first += B) {
    const int64_t rows = std::min(B, n - first);
    b_.upload(eval_index_.data(), images.data() + first,
              static_cast<size_t>(rows) * sizeof(int32_t));
    b_.render_sprites(masks_.data(), eval_index_.data(), nullptr, 1, rows, x_.data(),
                      labels_.data());
    float* logits = forward(x_.data(), rows, false);
    if (features)
      b_.download(features + first * o_.width, a_.back().data(),
                  static_cast<size_t>(rows * o_.width) * sizeof(float));
    b_.softmax_xent({1, rows, kShapes}, logits, labels_.data(), loss_.data(), correct_.data(),
                    false);
    loss += static_cast<double>(loss_.download()[0]) * static_cast<double>(rows);
    hits += correct_.download()[0];
  }
  return {loss / static_cast<double>(n), hits / static_cast<double>(n)};
}

}  // namespace xent::dsprites
