#include "experiments/dislib/classifier.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "xent/checkpoint.h"
#include "xent/error.h"
#include "xent/metrics.h"

namespace xent::dislib {

ProbeScores correlate_factors(
    const Dataset& d, const std::vector<int32_t>& fit, const std::vector<int32_t>& score, int p,
    int64_t chunk, const std::function<void(const int32_t*, int64_t, float*)>& features) {
  const int q = static_cast<int>(d.targets.size());
  const int w = p + q;
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
      d.probe_targets(fit[first + static_cast<size_t>(r)], zr + p);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, w, static_cast<int>(rows), 1.0, z.data(), w,
                1.0, gram.data(), w);
  }
  const std::vector<double> map = least_squares_from_gram(gram.data(), p, q);
  // Pearson r of prediction and target over the scoring images, from running sums.
  std::vector<double> sp(q), st(q), spp(q), stt(q), spt(q), t(q);
  for (size_t first = 0; first < score.size(); first += static_cast<size_t>(chunk)) {
    const int64_t rows = std::min<int64_t>(chunk, static_cast<int64_t>(score.size() - first));
    features(score.data() + first, rows, f.data());
    for (int64_t r = 0; r < rows; ++r) {
      d.probe_targets(score[first + static_cast<size_t>(r)], t.data());
      for (int k = 0; k < q; ++k) {
        double pred = 0;
        for (int j = 0; j < p; ++j) pred += static_cast<double>(f[r * p + j]) * map[j * q + k];
        sp[k] += pred;
        st[k] += t[k];
        spp[k] += pred * pred;
        stt[k] += t[k] * t[k];
        spt[k] += pred * t[k];
      }
    }
  }
  ProbeScores out(q);
  const auto n = static_cast<double>(score.size());
  for (int k = 0; k < q; ++k) {
    const double cov = spt[k] - sp[k] * st[k] / n;
    const double vp = spp[k] - sp[k] * sp[k] / n, vt = stt[k] - st[k] * st[k] / n;
    // A constant prediction (a probe that learned nothing) correlates with nothing.
    out[k] = vp > 0 && vt > 0 ? cov / std::sqrt(vp * vt) : 0.0;
  }
  return out;
}

ProbeScores correlate_pixels(Backend& b, const Dataset& d, const std::vector<int32_t>& fit,
                             const std::vector<int32_t>& score) {
  constexpr int64_t kChunk = 1024;
  const std::vector<uint8_t> host = d.tables();
  DeviceArray<uint8_t> tables(b, host.size());
  tables.upload(host);
  DeviceArray<int32_t> index(b, kChunk);
  DeviceArray<float> images(b, static_cast<size_t>(kChunk) * d.values);
  return correlate_factors(
      d, fit, score, d.values, kChunk, [&](const int32_t* im, int64_t n, float* out) {
        b.upload(index.data(), im, static_cast<size_t>(n) * sizeof(int32_t));
        render(b, d, tables.data(), index.data(), nullptr, 1, n, images.data(), nullptr);
        b.download(out, images.data(), static_cast<size_t>(n) * d.values * sizeof(float));
      });
}

ProbeImages probe_images(const RunConfig& c, const Split& s) {
  const int64_t fit = c.probe_fit > 0 ? c.probe_fit : static_cast<int64_t>(s.val.size());
  const int64_t score = c.probe_score > 0 ? c.probe_score : static_cast<int64_t>(s.test.size());
  return {{s.val.begin(), s.val.begin() + fit}, {s.test.begin(), s.test.begin() + score}};
}

namespace {

// The representation's layers, then the head. BatchNorm with PyTorch's defaults and slope 0
// (ReLU), as the reference's nn.BatchNorm1d + nn.ReLU.
std::vector<LayerSpec> classifier_specs(const RunConfig& c, const Dataset& d) {
  std::vector<LayerSpec> out;
  int in = d.values;
  const bool mlp = c.model == ModelKind::Mlp;
  for (int i = 0; i < (mlp ? c.layers : 1); ++i, in = c.width)
    out.push_back({.in = in, .out = c.width, .batchnorm = mlp, .slope = 0.0f});
  out.push_back({.in = in, .out = d.classes, .slope = 0.0f});
  return out;
}

std::vector<Split> repeat_splits(const RunConfig& c, const Dataset& d) {
  std::vector<Split> out;
  for (int r = 0; r < c.repeats; ++r)
    out.push_back(make_split(d.images, c.split_seed + static_cast<uint64_t>(r)));
  return out;
}

}  // namespace

ClassifierTrainer::ClassifierTrainer(Backend& b, const RunConfig& c)
    : b_(b),
      c_(c),
      d_(dataset(c.dataset)),
      K_(c.repeats),
      splits_(repeat_splits(c, d_)),
      specs_(classifier_specs(c, d_)),
      layout_(c.repeats),
      loss_(std::make_unique<SoftmaxCrossEntropy>(b, d_.classes)) {
  validate(c_);
  if (c_.model == ModelKind::Pixels)
    throw InputError("model.kind: pixels has no classifier to train");
  const int64_t B = c_.batch;
  const std::vector<LayerTensors> tensors = layout_.add_stack(model_name(c_.model), specs_);
  const auto total = static_cast<size_t>(layout_.total());
  std::vector<float> init(total, 0.0f);
  std::vector<uint64_t> seeds;
  for (int r = 0; r < K_; ++r) seeds.push_back(c_.seed + static_cast<uint64_t>(r));
  init_stack(layout_, specs_, tensors, seeds, init);
  params_ = DeviceArray<float>(b_, total);
  params_.upload(init);
  best_params_ = DeviceArray<float>(b_, total);
  best_params_.upload(init);
  grads_ = DeviceArray<float>(b_, total);
  // Zero padding between tensors in the gradients (and the moments) keeps Adam off it.
  b_.zero(grads_.data(), grads_.size() * sizeof(float));
  AdamParams adam;
  adam.lr = static_cast<float>(c_.lr);
  train_.emplace(b_, K_, layout_, adam, params_.data(), grads_.data(),
                 [this] { forward_backward(); });
  const auto stats = static_cast<size_t>(layout_.stat_total());
  for (auto* a : {&running_mean_, &running_var_, &best_mean_, &best_var_})
    *a = DeviceArray<float>(b_, std::max<size_t>(stats, 1));
  for (auto* a : {&running_mean_, &best_mean_}) a->upload(std::vector<float>(a->size(), 0.0f));
  for (auto* a : {&running_var_, &best_var_}) a->upload(std::vector<float>(a->size(), 1.0f));
  net_.emplace(b_, layout_, specs_, tensors, B,
               LayerStack::Buffers{params_.data(), grads_.data(), running_mean_.data(),
                                   running_var_.data()});
  const std::vector<uint8_t> host_tables = d_.tables();
  tables_ = DeviceArray<uint8_t>(b_, host_tables.size());
  tables_.upload(host_tables);
  order_ = DeviceArray<int32_t>(b_, static_cast<size_t>(K_) * splits_[0].train.size());
  eval_index_ = DeviceArray<int32_t>(b_, static_cast<size_t>(K_ * B));
  labels_ = DeviceArray<int32_t>(b_, static_cast<size_t>(K_ * B));
  x_ = DeviceArray<float>(b_, static_cast<size_t>(K_ * B) * d_.values);
  eval_loss_ = DeviceArray<float>(b_, static_cast<size_t>(K_));
  correct_ = DeviceArray<float>(b_, static_cast<size_t>(K_));
}

int64_t ClassifierTrainer::steps_per_epoch() const {
  return static_cast<int64_t>(splits_[0].train.size()) / c_.batch;
}

void ClassifierTrainer::set_steps_done(int64_t s) { train_->set_steps_done(s); }

// Step s of an epoch renders rows [s K B, (s + 1) K B) of the order: repeat r's batch s at
// rows s K B + r B, each repeat's order its training part shuffled by its own seed.
void ClassifierTrainer::upload_order(int64_t epoch) {
  const int64_t B = c_.batch, spe = steps_per_epoch();
  std::vector<int32_t> all(static_cast<size_t>(spe * K_ * B));
  for (int r = 0; r < K_; ++r) {
    std::vector<int32_t> order = splits_[static_cast<size_t>(r)].train;
    shuffle(order, c_.seed + static_cast<uint64_t>(r), epoch_stream(epoch));
    for (int64_t s = 0; s < spe; ++s)
      std::copy_n(order.begin() + s * B, B, all.begin() + (s * K_ + r) * B);
  }
  order_.upload(all);
  order_epoch_ = epoch;
}

void ClassifierTrainer::step() {
  const int64_t epoch = steps_done() / steps_per_epoch();
  if (epoch != order_epoch_) upload_order(epoch);
  train_->run();
}

void ClassifierTrainer::forward_backward() {
  const int64_t B = c_.batch;
  // The same calls every step: the batch comes from the training step's counter.
  render(b_, d_, tables_.data(), order_.data(), train_->steps_done_data(), steps_per_epoch(),
         K_ * B, x_.data(), labels_.data());
  float* logits = net_->forward(x_.data(), B, true);
  loss_->compute(K_, B, logits, labels_.data(), train_->loss(), nullptr, true);
  net_->backward(x_.data(), B, logits, nullptr);
}

std::vector<float> ClassifierTrainer::last_losses() const { return train_->last_losses(); }

std::vector<EvalResult> ClassifierTrainer::evaluate(
    const std::vector<std::vector<int32_t>>& images) {
  const int64_t B = c_.batch, n = static_cast<int64_t>(images[0].size());
  std::vector<double> loss(static_cast<size_t>(K_)), hits(static_cast<size_t>(K_));
  std::vector<int32_t> index(static_cast<size_t>(K_ * B));
  for (int64_t first = 0; first < n; first += B) {
    const int64_t rows = std::min(B, n - first);
    for (int r = 0; r < K_; ++r)
      std::copy_n(images[static_cast<size_t>(r)].begin() + first, rows, index.begin() + r * rows);
    b_.upload(eval_index_.data(), index.data(), static_cast<size_t>(K_ * rows) * sizeof(int32_t));
    render(b_, d_, tables_.data(), eval_index_.data(), nullptr, 1, K_ * rows, x_.data(),
           labels_.data());
    float* logits = net_->forward(x_.data(), rows, false);
    loss_->compute(K_, rows, logits, labels_.data(), eval_loss_.data(), correct_.data(), false);
    const std::vector<float> l = eval_loss_.download(), h = correct_.download();
    for (size_t r = 0; r < static_cast<size_t>(K_); ++r) {
      loss[r] += static_cast<double>(l[r]) * static_cast<double>(rows);
      hits[r] += h[r];
    }
  }
  std::vector<EvalResult> out;
  for (size_t r = 0; r < static_cast<size_t>(K_); ++r)
    out.push_back({loss[r] / static_cast<double>(n), hits[r] / static_cast<double>(n)});
  return out;
}

void ClassifierTrainer::features(int r, const int32_t* images, int64_t n, float* out) {
  const int64_t B = c_.batch;
  const Replicas only{r, 1};
  for (int64_t first = 0; first < n; first += B) {
    const int64_t rows = std::min(B, n - first);
    // Repeat r's rows of every [K][rows][w] buffer start at r * rows.
    b_.upload(eval_index_.data(), images + first, static_cast<size_t>(rows) * sizeof(int32_t));
    render(b_, d_, tables_.data(), eval_index_.data(), nullptr, 1, rows,
           x_.data() + r * rows * d_.values, nullptr);
    net_->forward(x_.data(), rows, false, only);
    b_.download(out + first * c_.width, net_->output(specs_.size() - 2) + r * rows * c_.width,
                static_cast<size_t>(rows * c_.width) * sizeof(float));
  }
}

void ClassifierTrainer::keep_best(int r) {
  for (const ParamTensor& t : layout_.tensors()) {
    const int64_t at = t.offset + r * t.size;
    b_.copy(best_params_.data() + at, params_.data() + at,
            static_cast<size_t>(t.size) * sizeof(float));
  }
  for (const ParamTensor& t : layout_.stats()) {
    const int64_t at = t.offset + r * t.size;
    const auto bytes = static_cast<size_t>(t.size) * sizeof(float);
    b_.copy(best_mean_.data() + at, running_mean_.data() + at, bytes);
    b_.copy(best_var_.data() + at, running_var_.data() + at, bytes);
  }
}

void ClassifierTrainer::restore_best() {
  b_.copy(params_.data(), best_params_.data(), params_.size() * sizeof(float));
  b_.copy(running_mean_.data(), best_mean_.data(), running_mean_.size() * sizeof(float));
  b_.copy(running_var_.data(), best_var_.data(), running_var_.size() * sizeof(float));
}

std::vector<StateTensor> ClassifierTrainer::state() {
  std::vector<StateTensor> out;
  const int64_t K = K_;
  auto add = [&](const std::string& name, DeviceArray<float>& a) {
    out.push_back({name, a.data(), static_cast<int64_t>(a.size()) / K});
  };
  add("params", params_);
  for (const StateTensor& t : train_->adam_state()) out.push_back(t);
  add("running_mean", running_mean_);
  add("running_var", running_var_);
  add("best.params", best_params_);
  add("best.running_mean", best_mean_);
  add("best.running_var", best_var_);
  return out;
}

std::optional<Divergence> ClassifierTrainer::find_nonfinite(bool state) {
  // The parameters named by tensor, then the Adam moments (v squares the gradients and
  // overflows before the parameters do).
  std::vector<StateTensor> tensors;
  for (const ParamTensor& t : layout_.tensors())
    tensors.push_back({t.name, params_.data() + t.offset, t.size});
  for (const StateTensor& t : train_->adam_state()) tensors.push_back(t);
  std::vector<uint64_t> seeds;
  for (int r = 0; r < K_; ++r) seeds.push_back(c_.seed + static_cast<uint64_t>(r));
  return train_->find_nonfinite(state, tensors, seeds);
}

ClassifierRun::ClassifierRun(ClassifierTrainer& m, const RunConfig& c)
    : m_(m),
      c_(c),
      stopping_(m.backend(), static_cast<size_t>(3 * c.repeats)),
      best_acc_(static_cast<size_t>(c.repeats), -1.0),
      best_step_(static_cast<size_t>(c.repeats), 0),
      stopped_(static_cast<size_t>(c.repeats), false) {
  for (const Split& s : m_.splits()) val_.push_back(probe_images(c_, s).fit);
}

Schedule ClassifierRun::schedule() const {
  const int64_t spe = m_.steps_per_epoch();
  const int64_t steps = c_.steps > 0 ? c_.steps : c_.max_epochs * spe;
  return {steps, c_.eval_every > 0 ? c_.eval_every : spe, c_.checkpoint_every};
}

std::vector<MetricValues> ClassifierRun::evaluate() {
  // The last training step's loss (the evaluation writes its own buffer).
  const std::vector<float> train_loss = m_.last_losses();
  const std::vector<EvalResult> r = m_.evaluate(val_);
  const int64_t s = m_.steps_done();
  const double epoch = static_cast<double>(s) / static_cast<double>(m_.steps_per_epoch());
  std::vector<MetricValues> out;
  for (size_t k = 0; k < r.size(); ++k) {
    if (!std::isfinite(r[k].loss))
      throw DivergedError("step " + std::to_string(s) + ", repeat " + std::to_string(k) +
                          ": the validation loss is not finite (try a smaller train.lr)");
    // The reference keeps the parameters of the best evaluation so far and stops once that
    // passes stop_acc; a stopped repeat trains on with the others, but nothing of it is kept.
    if (!stopped_[k] && r[k].acc > best_acc_[k]) {
      best_acc_[k] = r[k].acc;
      best_step_[k] = s;
      m_.keep_best(static_cast<int>(k));
    }
    if (best_acc_[k] > c_.stop_acc) stopped_[k] = true;
    out.push_back({{"epoch", epoch},
                   {"train_loss", static_cast<double>(train_loss[k])},
                   {"val_loss", r[k].loss},
                   {"val_acc", r[k].acc},
                   {"best_val_acc", best_acc_[k]},
                   {"stopped", stopped_[k] ? 1.0 : 0.0}});
  }
  return out;
}

bool ClassifierRun::running() const {
  return std::find(stopped_.begin(), stopped_.end(), false) != stopped_.end();
}

std::string ClassifierRun::describe(const MetricValues& m) const {
  // Repeat 0's evaluation, and where the population stands (updated by evaluate()).
  const auto stopped = std::count(stopped_.begin(), stopped_.end(), true);
  const double worst = *std::min_element(best_acc_.begin(), best_acc_.end());
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "repeat 0: train loss %.4f  val loss %.4f  val acc %.4f; %lld of %d repeats "
                "stopped, lowest best val acc %.4f",
                metric(m, "train_loss"), metric(m, "val_loss"), metric(m, "val_acc"),
                static_cast<long long>(stopped), c_.repeats, worst);
  return buf;
}

// The stopping state travels as floats: validation hits (whole numbers below 2^24, exact)
// rather than accuracies, the best step, and the stopped flag.
std::vector<StateTensor> ClassifierRun::state() {
  std::vector<float> host;
  const auto n = static_cast<double>(val_[0].size());
  for (size_t k = 0; k < stopped_.size(); ++k) {
    host.push_back(best_acc_[k] < 0 ? -1.0f : static_cast<float>(std::lround(best_acc_[k] * n)));
    host.push_back(static_cast<float>(best_step_[k]));
    host.push_back(stopped_[k] ? 1.0f : 0.0f);
  }
  stopping_.upload(host);
  std::vector<StateTensor> out = m_.state();
  out.push_back({"run.stopping", stopping_.data(), 3});
  return out;
}

void ClassifierRun::write_checkpoint(const std::string& path) {
  StateHeader h{shape_hash(c_), config_hash(c_), m_.steps_done(), {}};
  for (int r = 0; r < c_.repeats; ++r) h.seeds.push_back(seed(r));
  write_state_checkpoint(path, m_.backend(), h, state());
}

void ClassifierRun::restore(const std::string& path) {
  const Checkpoint ck = read_checkpoint(path);
  auto fail = [&](const std::string& what) { throw InputError(path + ": " + what); };
  if (ck.seeds.size() != static_cast<size_t>(c_.repeats))
    fail("holds " + std::to_string(ck.seeds.size()) + " repeats, the config's train.repeats is " +
         std::to_string(c_.repeats));
  if (ck.shape_hash != shape_hash(c_))
    fail(
        "written for a different model shape (data.name, model.kind, model.width or "
        "model.layers differ)");
  if (ck.config_hash != config_hash(c_)) fail("written by a run with a different config");
  if (ck.step < 0 || ck.step > schedule().steps)
    fail("step " + std::to_string(ck.step) + " is past the run's last step " +
         std::to_string(schedule().steps) + " (raise train.max_epochs or train.steps)");
  for (const auto& t : ck.tensors)
    if (t.name == "adam.m")
      fail(
          "written by an older xent, whose Adam moments were one tensor 'adam.m' (now one per "
          "parameter tensor): it cannot be resumed; start the run again");
  restore_state(m_.backend(), ck, state(), path);
  const std::vector<float> host = stopping_.download();
  const auto n = static_cast<double>(val_[0].size());
  for (size_t k = 0; k < stopped_.size(); ++k) {
    const float hits = host[3 * k];
    best_acc_[k] = hits < 0 ? -1.0 : static_cast<double>(hits) / n;
    best_step_[k] = static_cast<int64_t>(host[3 * k + 1]);
    stopped_[k] = host[3 * k + 2] != 0;
  }
  m_.set_steps_done(ck.step);
}

}  // namespace xent::dislib
