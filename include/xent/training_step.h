// The engine's part of every trainer's step: the step counter in backend memory, the recorded
// step, Adam, each replica's training loss, and the search for a divergence. A trainer adds
// what is its own: the calls that fill a batch and run the forward and backward passes.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/layers.h"
#include "xent/optimizer.h"

namespace xent {

// Where a non-finite value was found: the first replica and tensor that holds one.
struct Divergence {
  int64_t step = 0;
  int replica = 0;
  uint64_t seed = 0;
  std::string tensor;  // "loss" or a state tensor name
};

class TrainingStep {
 public:
  // K replicas whose parameters and gradients are the flat buffers params and grads, laid out by
  // `layout` (they belong to the caller), trained by Adam with `adam`. forward_backward issues
  // the trainer's own calls of a step: they read the step number from steps_done() (the batch
  // to draw), write each replica's mean loss to loss() and the gradients, and must be the same
  // calls every step (they are recorded once and replayed).
  TrainingStep(Backend& b, int K, const ParameterLayout& layout, const AdamParams& adam,
               float* params, float* grads, std::function<void()> forward_backward);
  TrainingStep(const TrainingStep&) = delete;
  TrainingStep& operator=(const TrainingStep&) = delete;

  // One step: forward_backward's calls, the counter's increment and Adam's update, recorded on
  // the first step and replayed after.
  void run();

  int64_t steps_done() const { return step_; }
  void set_steps_done(int64_t step);
  // The step counter the recorded calls read: steps done before this step.
  const int64_t* steps_done_data() const { return steps_done_.data(); }
  float* loss() { return loss_.data(); }  // [K]
  // Every replica's loss at the last step (a copy from the backend).
  std::vector<float> last_losses() const { return loss_.download(); }
  // Adam's moments as checkpoint tensors (Adam::state).
  std::vector<StateTensor> adam_state() { return adam_.state(); }

  // The first non-finite value in the last step's loss and, when `full` is set or the loss is
  // bad, in `state` (a full download: ask for it at evaluations and checkpoints, not every step).
  // Replica by replica, and within a replica in the order of `state`; a bad loss is reported
  // under the name of the first non-finite tensor of its replica when there is one.
  std::optional<Divergence> find_nonfinite(bool full, const std::vector<StateTensor>& state,
                                           const std::vector<uint64_t>& seeds);

 private:
  Backend& b_;
  int K_;
  float* params_;
  float* grads_;
  std::function<void()> forward_backward_;
  Adam adam_;
  DeviceArray<float> loss_;
  int64_t step_ = 0;                 // host copy of steps_done_, never read back
  DeviceArray<int64_t> steps_done_;  // the step counter the recorded step reads
  std::unique_ptr<StepRecording> recording_;
};

}  // namespace xent
