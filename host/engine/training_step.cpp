#include "xent/training_step.h"

#include <cmath>
#include <utility>

namespace xent {

TrainingStep::TrainingStep(Backend& b, int K, const ParameterLayout& layout, const AdamParams& adam,
                           float* params, float* grads, std::function<void()> forward_backward)
    : b_(b),
      K_(K),
      params_(params),
      grads_(grads),
      forward_backward_(std::move(forward_backward)),
      adam_(b, layout, adam),
      loss_(b, static_cast<size_t>(K)),
      steps_done_(b, 1) {
  b_.zero(loss_.data(), loss_.size() * sizeof(float));
  steps_done_.upload({0});
}

void TrainingStep::run() {
  // The recording belongs to this step: it replays these buffers only.
  if (!recording_) {
    recording_ = b_.record_step([this] {
      forward_backward_();
      b_.increment(steps_done_.data());
      adam_.update(params_, grads_, steps_done_.data());
    });
  }
  recording_->run();
  ++step_;
}

void TrainingStep::set_steps_done(int64_t step) {
  step_ = step;
  steps_done_.upload({step});
}

std::optional<Divergence> TrainingStep::find_nonfinite(bool full,
                                                       const std::vector<StateTensor>& state,
                                                       const std::vector<uint64_t>& seeds) {
  auto found = [&](int k, const std::string& tensor) {
    return Divergence{step_, k, seeds[static_cast<size_t>(k)], tensor};
  };
  const std::vector<float> loss = loss_.download();
  std::optional<Divergence> loss_bad;
  for (int k = 0; k < K_ && !loss_bad; ++k)
    if (!std::isfinite(loss[static_cast<size_t>(k)])) loss_bad = found(k, "loss");
  // A bad loss ends the run, so the full download is affordable then and names the tensor.
  if (!full && !loss_bad) return std::nullopt;
  // Replica-major search, so that the replica reported is the first one that went bad; within
  // it the first tensor in the given order, usually where the blow-up surfaced.
  std::vector<std::pair<StateTensor, std::vector<float>>> host;
  for (const StateTensor& t : state) {
    std::vector<float> h(static_cast<size_t>(t.size) * static_cast<size_t>(K_));
    b_.download(h.data(), t.data, h.size() * sizeof(float));
    host.emplace_back(t, std::move(h));
  }
  for (int k = 0; k < K_; ++k) {
    if (loss_bad && loss_bad->replica == k) break;
    for (const auto& [t, h] : host)
      for (int64_t i = 0; i < t.size; ++i)
        if (!std::isfinite(h[static_cast<size_t>(k * t.size + i)])) return found(k, t.name);
  }
  if (loss_bad) {
    // Name the tensor that carries the damage when there is one: that is what to look at.
    for (const auto& [t, h] : host)
      for (int64_t i = 0; i < t.size; ++i)
        if (!std::isfinite(h[static_cast<size_t>(loss_bad->replica * t.size + i)]))
          return found(loss_bad->replica, t.name);
  }
  return loss_bad;
}

}  // namespace xent
