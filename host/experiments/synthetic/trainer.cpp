#include "xent/trainer.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace xent {

namespace {

std::vector<Config> replicas_of(const Config& c) {
  std::vector<Config> out;
  for (int k = 0; k < c.train.population; ++k) {
    out.push_back(c);
    out.back().train.seed = c.train.seed + static_cast<uint64_t>(k);
  }
  return out;
}

// The first line of a's resolved TOML that b's differs in, as "key (a vs b)".
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream ia(a), ib(b);
  std::string section;
  for (std::string la, lb; std::getline(ia, la) && std::getline(ib, lb);) {
    if (!la.empty() && la[0] == '[') section = la.substr(1, la.find(']') - 1);
    if (la == lb) continue;
    const size_t eq = la.find(" = ");
    return section + "." + la.substr(0, eq) + " (" + la.substr(eq + 3) + " vs " +
           lb.substr(lb.find(" = ") + 3) + ")";
  }
  return "?";
}

// The population's config: replica 0's, with train.population = K, after checking that the
// replicas can share one set of calls.
Config joined(const std::vector<Config>& replicas) {
  if (replicas.empty()) throw InputError("a population needs at least one replica");
  const std::string key = population_key(replicas[0]);
  for (size_t k = 1; k < replicas.size(); ++k) {
    const std::string other = population_key(replicas[k]);
    if (other != key)
      throw InputError("replica " + std::to_string(k) +
                       " cannot share a population with replica 0: " +
                       first_difference(key, other) + " differs");
  }
  if (replicas.size() > 4096) throw InputError("a population holds at most 4096 replicas");
  Config c = replicas[0];
  c.train.population = static_cast<int>(replicas.size());
  return c;
}

AdamParams adam_params(const TrainConfig& t) {
  AdamParams a;
  a.lr = static_cast<float>(t.lr);
  a.beta1 = static_cast<float>(t.beta1);
  a.beta2 = static_cast<float>(t.beta2);
  a.eps = static_cast<float>(t.adam_eps);
  return a;
}

}  // namespace

Trainer::Trainer(Backend& b, const Config& c) : Trainer(b, replicas_of(c)) {}

Trainer::Trainer(Backend& b, const std::vector<Config>& replicas)
    : b_(b),
      c_(joined(replicas)),
      K_(c_.train.population),
      model_(b, c_, c_.train.batch),
      loss_(std::make_unique<SoftmaxCrossEntropy>(b, model_.classes())),
      train_(b, K_, model_.param_layout(), adam_params(c_.train), model_.params(), model_.grads(),
             [this] { forward_backward(); }) {
  for (const Config& r : replicas) {
    seeds_.push_back(r.train.seed);
    dgp_.push_back(r.dgp);
  }
  const Config& c = c_;
  const DgpParams& g = c.dgp;
  const int d = g.d;
  const int64_t B = c.train.batch;
  const int64_t C = g.classes();

  // The frozen parts of each replica's DGP, drawn once on the host; the mixing weights, most
  // of the time a trainer takes to build, for all replicas at once.
  std::vector<float> centres, mixing;
  for (int k = 0; k < K_; ++k) {
    const auto ck = draw_centres(dgp_[k], seeds_[k]);
    centres.insert(centres.end(), ck.begin(), ck.end());
  }
  // On train.threads threads, as the CPU backend's ops (0: every usable core); the matrices
  // are the same for any count.
  for (const auto& mk : draw_mixing_population(dgp_, seeds_, c.train.threads))
    mixing.insert(mixing.end(), mk.begin(), mk.end());
  centres_ = DeviceArray<float>(b_, centres.size());
  centres_.upload(centres);
  mixing_ = DeviceArray<float>(b_, mixing.size());
  mixing_.upload(mixing);
  // Class c's cluster vector: the centre of cluster c (supervised) or c mod |C| (DIET).
  std::vector<float> cv(static_cast<size_t>(K_) * C * d);
  for (int k = 0; k < K_; ++k)
    for (int64_t cls = 0; cls < C; ++cls) {
      const int64_t cl = cls % g.clusters;
      std::copy_n(centres.begin() + (int64_t{k} * g.clusters + cl) * d, d,
                  cv.begin() + (int64_t{k} * C + cls) * d);
    }
  class_vec_ = DeviceArray<float>(b_, cv.size());
  class_vec_.upload(cv);

  model_.init(seeds_);
  z_ = DeviceArray<float>(b_, K_ * B * d);
  x_ = DeviceArray<float>(b_, K_ * B * d);
  labels_ = DeviceArray<int32_t>(b_, K_ * B);

  const int64_t n = c.train.eval_samples;
  ez_ = DeviceArray<float>(b_, K_ * n * d);
  ex_ = DeviceArray<float>(b_, K_ * n * d);
  efeat_ = DeviceArray<float>(b_, K_ * n * d);
  elabels_ = DeviceArray<int32_t>(b_, K_ * n);
  eloss_ = DeviceArray<float>(b_, K_);
  ecorrect_ = DeviceArray<float>(b_, K_);
  b_.sample_latents(dgp_, seeds_, centres_.data(), RngPurpose::Eval, 0, nullptr, n, ez_.data(),
                    elabels_.data(), nullptr);
  b_.mixing_forward(K_, g.mixing_layers, d, mixing_.data(), ez_.data(), n, ex_.data());
}

void Trainer::step() { train_.run(); }

void Trainer::forward_backward() {
  const int64_t B = c_.train.batch;
  const int d = c_.dgp.d;
  // The same calls every step: the step number reaches the batch draw through the training
  // step's counter in backend memory, so the backend may replay a recording of them.
  b_.sample_latents(dgp_, seeds_, centres_.data(), RngPurpose::Train, 0, train_.steps_done_data(),
                    B, z_.data(), labels_.data(), nullptr);
  b_.mixing_forward(K_, c_.dgp.mixing_layers, d, mixing_.data(), z_.data(), B, x_.data());
  if (c_.model.normalize_head) model_.normalize_head();
  // The forward and backward passes in runs of replicas of the backend's choosing.
  const int group = std::max(1, b_.replica_group(K_));
  const int64_t classes = model_.classes();
  for (int k0 = 0; k0 < K_; k0 += group) {
    const Replicas run{k0, std::min(group, K_ - k0)};
    float* logits = model_.forward(x_.data(), B, true, run) + k0 * B * classes;
    loss_->compute(run.count, B, logits, labels_.data() + k0 * B, train_.loss() + k0, nullptr,
                   true);
    model_.backward(x_.data(), B, run);
  }
}

void Trainer::set_steps_done(int64_t step) { train_.set_steps_done(step); }

std::vector<float> Trainer::last_loss() const { return train_.last_losses(); }

std::vector<StateTensor> Trainer::state() {
  std::vector<StateTensor> out;
  const auto& ts = model_.tensors();
  for (const auto& t : ts) out.push_back({t.name, model_.params() + t.offset, t.size});
  for (const StateTensor& t : train_.adam_state()) out.push_back(t);
  for (const auto& t : model_.stat_tensors()) {
    out.push_back({t.name + ".running_mean", model_.running_mean() + t.offset, t.size});
    out.push_back({t.name + ".running_var", model_.running_var() + t.offset, t.size});
  }
  return out;
}

std::optional<Divergence> Trainer::find_nonfinite(bool params) {
  // The Adam moments too: v squares the gradients and overflows before the parameters do.
  return train_.find_nonfinite(params, state(), seeds_);
}

std::vector<float> Trainer::encode(const float* x, int64_t n) {
  const int d = c_.dgp.d;
  const int64_t B = c_.train.batch;
  std::vector<float> out(static_cast<size_t>(K_ * n * d));
  // x_ holds the next step's batch only while a step runs: every step draws it afresh.
  for (int64_t first = 0; first < n; first += B) {
    const int64_t rows = std::min(B, n - first);
    const size_t bytes = static_cast<size_t>(rows * d) * sizeof(float);
    for (int k = 0; k < K_; ++k) b_.upload(x_.data() + k * rows * d, x + first * d, bytes);
    model_.forward(x_.data(), rows, false);
    for (int k = 0; k < K_; ++k)
      b_.download(out.data() + (k * n + first) * d, model_.features() + k * rows * d, bytes);
  }
  return out;
}

std::vector<ReplicaMetrics> Trainer::evaluate() {
  const int d = c_.dgp.d;
  const int64_t n = c_.train.eval_samples;
  const int64_t B = c_.train.batch;
  const int64_t C = model_.classes();
  if (c_.model.normalize_head) model_.normalize_head();
  // The evaluation set runs through the model in chunks of one batch, so that it needs no
  // activation memory beyond training's. Chunks are gathered replica by replica.
  std::vector<double> loss_sum(K_, 0.0), hits(K_, 0.0);
  // model.bn_eval = "batch": each chunk normalised with its own statistics (the training
  // forward pass), the running statistics it updates restored afterwards, so that training
  // goes on exactly as it would have.
  const bool batch_stats = c_.model.bn_eval == BnEval::Batch;
  const size_t stats = model_.stat_size();
  DeviceArray<float> kept_mean, kept_var;
  if (batch_stats && stats > 0) {
    kept_mean = DeviceArray<float>(b_, stats);
    kept_var = DeviceArray<float>(b_, stats);
    b_.copy(kept_mean.data(), model_.running_mean(), stats * sizeof(float));
    b_.copy(kept_var.data(), model_.running_var(), stats * sizeof(float));
  }
  for (int64_t first = 0; first < n; first += B) {
    const int64_t rows = std::min(B, n - first);
    for (int k = 0; k < K_; ++k) {
      b_.copy(x_.data() + k * rows * d, ex_.data() + (k * n + first) * d, rows * d * sizeof(float));
      b_.copy(labels_.data() + k * rows, elabels_.data() + k * n + first, rows * sizeof(int32_t));
    }
    float* logits = model_.forward(x_.data(), rows, batch_stats);
    for (int k = 0; k < K_; ++k)
      b_.copy(efeat_.data() + (k * n + first) * d, model_.features() + k * rows * d,
              rows * d * sizeof(float));
    loss_->compute(K_, rows, logits, labels_.data(), eloss_.data(), ecorrect_.data(), false);
    const auto l = eloss_.download();
    const auto h = ecorrect_.download();
    for (int k = 0; k < K_; ++k) {
      loss_sum[k] += static_cast<double>(l[k]) * static_cast<double>(rows);
      hits[k] += h[k];
    }
  }
  if (batch_stats && stats > 0) {
    b_.copy(model_.running_mean(), kept_mean.data(), stats * sizeof(float));
    b_.copy(model_.running_var(), kept_var.data(), stats * sizeof(float));
  }
  std::vector<ReplicaMetrics> out(K_);
  // A diverged replica has non-finite features; say so rather than letting the probe report
  // them as if they were bad user input.
  const std::vector<float> feats = efeat_.download();
  for (int k = 0; k < K_; ++k)
    for (int64_t i = 0; i < n * d; ++i)
      if (!std::isfinite(feats[k * n * d + i]))
        throw DivergedError("replica " + std::to_string(k) + " (seed " + std::to_string(seeds_[k]) +
                            ") diverged: non-finite features at step " +
                            std::to_string(steps_done()) + " (try a smaller train.lr)");
  for (int k = 0; k < K_; ++k) {
    ReplicaMetrics& r = out[k];
    const double split = c_.train.eval_split;
    const ProbeResult z = b_.probe(efeat_.data() + k * n * d, n, d, ez_.data() + k * n * d, d,
                                   split, 1.0 / dgp_[k].kappa);
    r.r2_a = z.r2_a;
    r.r2_o = z.r2_o;
    r.mae_o = z.mae_o;
    r.mcc = z.mcc;
    const ProbeResult w =
        b_.probe(model_.head() + k * C * d, C, d, class_vec_.data() + k * C * d, d, 0.5, 1.0);
    r.r2_w = w.r2_a;
    r.r2_o_w = w.r2_o;
    r.mae_o_w = w.mae_o;
    r.acc = hits[k] / static_cast<double>(n);
    r.loss = loss_sum[k] / static_cast<double>(n);
  }
  return out;
}

}  // namespace xent
