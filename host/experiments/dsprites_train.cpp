#include "experiments/dsprites_train.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cpu/ops.h"
#include "xent/error.h"
#include "xent/metrics.h"

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

namespace {

// The DisLib MLP: layers x (Linear + BatchNorm + ReLU), then the linear head to the shapes.
std::vector<LayerSpec> classifier_specs(const TrainOptions& o) {
  std::vector<LayerSpec> out;
  int in = kPixels;
  // slope 0: ReLU, after BatchNorm with PyTorch's defaults.
  for (int i = 0; i < o.layers; ++i, in = o.width)
    out.push_back({in, o.width, true, true, 0.0f, 1e-5f, 0.1f});
  out.push_back({in, kShapes, true, false, 0.0f, 1e-5f, 0.1f});
  return out;
}

}  // namespace

ShapeClassifier::ShapeClassifier(Backend& b, const TrainOptions& o)
    : b_(b),
      o_(o),
      split_(make_split(o.split_seed)),
      masks_host_(render_masks()),
      specs_(classifier_specs(o)),
      layout_(1) {
  o_.validate();
  const int64_t B = o_.batch;
  const std::vector<LayerTensors> tensors = layout_.add_stack("mlp", specs_);
  const int64_t total = layout_.total();
  std::vector<float> init(static_cast<size_t>(total), 0.0f);
  init_stack(layout_, specs_, tensors, {o_.seed}, init);
  params_ = DeviceArray<float>(b_, static_cast<size_t>(total));
  params_.upload(init);
  grads_ = DeviceArray<float>(b_, static_cast<size_t>(total));
  m_ = DeviceArray<float>(b_, static_cast<size_t>(total));
  v_ = DeviceArray<float>(b_, static_cast<size_t>(total));
  // Zero padding between tensors in the gradients and moments keeps Adam off it.
  for (auto* a : {&grads_, &m_, &v_}) b_.zero(a->data(), a->size() * sizeof(float));
  const auto stats = static_cast<size_t>(layout_.stat_total());
  running_mean_ = DeviceArray<float>(b_, stats);
  running_var_ = DeviceArray<float>(b_, stats);
  running_mean_.upload(std::vector<float>(stats, 0.0f));
  running_var_.upload(std::vector<float>(stats, 1.0f));
  net_.emplace(b_, layout_, specs_, tensors, B,
               LayerStack::Buffers{params_.data(), grads_.data(), running_mean_.data(),
                                   running_var_.data()});
  masks_ = DeviceArray<uint8_t>(b_, masks_host_.size());
  masks_.upload(masks_host_);
  order_ = DeviceArray<int32_t>(b_, split_.train.size());
  eval_index_ = DeviceArray<int32_t>(b_, static_cast<size_t>(B));
  labels_ = DeviceArray<int32_t>(b_, static_cast<size_t>(B));
  x_ = DeviceArray<float>(b_, static_cast<size_t>(B) * kPixels);
  loss_ = DeviceArray<float>(b_, 1);
  b_.zero(loss_.data(), sizeof(float));
  correct_ = DeviceArray<float>(b_, 1);
  steps_done_ = DeviceArray<int64_t>(b_, 1);
  steps_done_.upload({0});
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
  float* logits = net_->forward(x_.data(), B, true);
  b_.softmax_xent({1, B, kShapes}, logits, labels_.data(), loss_.data(), nullptr, true);
  net_->backward(x_.data(), B, logits, nullptr);
  b_.increment(steps_done_.data());
  b_.adam(layout_.total(), params_.data(), grads_.data(), m_.data(), v_.data(), a,
          steps_done_.data());
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
    float* logits = net_->forward(x_.data(), rows, false);
    if (features)
      b_.download(features + first * o_.width, net_->output(specs_.size() - 2),
                  static_cast<size_t>(rows * o_.width) * sizeof(float));
    b_.softmax_xent({1, rows, kShapes}, logits, labels_.data(), loss_.data(), correct_.data(),
                    false);
    loss += static_cast<double>(loss_.download()[0]) * static_cast<double>(rows);
    hits += correct_.download()[0];
  }
  return {loss / static_cast<double>(n), hits / static_cast<double>(n)};
}

std::optional<Divergence> ShapeClassifier::find_nonfinite(bool state) {
  const float loss = last_loss();
  if (!std::isfinite(loss)) return Divergence{step_, 0, o_.seed, "loss"};
  if (!state) return std::nullopt;
  const std::vector<float> p = params_.download();
  for (const ParamTensor& t : layout_.tensors())
    for (int64_t i = 0; i < t.size; ++i)
      if (!std::isfinite(p[static_cast<size_t>(t.offset + i)]))
        return Divergence{step_, 0, o_.seed, t.name};
  return std::nullopt;
}

Schedule ClassifierRun::schedule() const {
  return {o_.total_steps(), o_.eval_every > 0 ? o_.eval_every : o_.steps_per_epoch(), 0};
}

std::vector<MetricValues> ClassifierRun::evaluate() {
  // Before the evaluation, whose cross-entropy reuses the loss buffer.
  const double train_loss = last_loss();
  const EvalResult r = m_.evaluate(val_, nullptr);
  const int64_t s = m_.steps_done();
  if (!std::isfinite(r.loss))
    throw DivergedError("step " + std::to_string(s) +
                        ": the validation loss is not finite (try a smaller --lr)");
  const double epoch = static_cast<double>(s) / static_cast<double>(o_.steps_per_epoch());
  return {{{"epoch", epoch}, {"train_loss", train_loss}, {"val_loss", r.loss}, {"val_acc", r.acc}}};
}

std::string ClassifierRun::describe(const MetricValues& m) const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "train loss %.4f  val loss %.4f  val acc %.4f",
                metric(m, "train_loss"), metric(m, "val_loss"), metric(m, "val_acc"));
  return buf;
}

void ClassifierRun::write_checkpoint(const std::string&) {
  throw InputError("dsprites: checkpoints are not supported yet");
}

}  // namespace xent::dsprites
