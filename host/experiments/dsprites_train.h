// The paper's dSprites experiment (Table 4): the DisLib MLP trained with softmax cross-entropy to
// classify shape, then linear probes from its representation, and from raw pixels, to every
// factor.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "xent/backend.h"
#include "xent/dsprites.h"
#include "xent/layers.h"
#include "xent/run.h"

namespace xent::dsprites {

struct TrainOptions {
  int64_t epochs = 1;
  int64_t steps = 0;  // when > 0, replaces epochs: this many steps (epochs wrap as needed)
  int batch = 4096;
  double lr = 1e-3;
  int width = 512;    // hidden units per layer
  int layers = 3;     // hidden layers: Linear + BatchNorm + ReLU each
  uint64_t seed = 0;  // initialisation and the epochs' batch order
  uint64_t split_seed = 0;
  // Validation images that fit each probe and test images that score it; by default all of
  // each part (the 4096-pixel probe overfits on fewer: see README).
  int64_t probe_fit = kImages / 10;
  int64_t probe_score = kImages / 10;
  bool probe_pixels = true;
  int64_t eval_every = 0;  // steps; 0: at the end of every epoch (and the last step)
  // Throws InputError naming the option when a value is out of range.
  void validate() const;
  int64_t steps_per_epoch() const;
  int64_t total_steps() const;
};

// Pearson r between each z-scored factor (kTargetNames order) and its least-squares prediction
// without intercept, on the scoring images.
using ProbeScores = std::array<double, kTargets>;

// Fits the probe on `fit` images and scores it on `score` images. features(images, n, out)
// writes n rows of p floats for the given image numbers; it is called on chunks of at most
// `chunk` images.
ProbeScores probe_factors(const std::vector<int32_t>& fit, const std::vector<int32_t>& score, int p,
                          int64_t chunk,
                          const std::function<void(const int32_t*, int64_t, float*)>& features);

// The raw-pixel baseline: the same probe on the images themselves.
ProbeScores probe_pixels(const std::vector<uint8_t>& masks, const std::vector<int32_t>& fit,
                         const std::vector<int32_t>& score);

struct EvalResult {
  double loss = 0, acc = 0;
};

// The classifier: `layers` x (Linear + BatchNorm + ReLU) of `width` units on 4096 pixels, then a
// linear layer to the 3 shapes. The representation probed is the last hidden activation.
class ShapeClassifier {
 public:
  ShapeClassifier(Backend& b, const TrainOptions& o);
  ShapeClassifier(const ShapeClassifier&) = delete;
  ShapeClassifier& operator=(const ShapeClassifier&) = delete;

  // One Adam step on the next batch of the training split (a new order every epoch).
  void step();
  int64_t steps_done() const { return step_; }
  float last_loss() const;
  // Loss and accuracy on the given images (evaluation mode: running BatchNorm statistics);
  // when features is given, the representation of each image is written there ([n][width]).
  EvalResult evaluate(const std::vector<int32_t>& images, float* features);
  // The first non-finite value in the last step's loss and, with `state`, in the parameters
  // ("mlp.<i>.weight", ...).
  std::optional<Divergence> find_nonfinite(bool state);
  const Split& split() const { return split_; }
  const std::vector<uint8_t>& masks() const { return masks_host_; }
  Backend& backend() { return b_; }

 private:
  void issue_step();  // the calls of one step, as the backend records them

  Backend& b_;
  TrainOptions o_;
  Split split_;
  std::vector<uint8_t> masks_host_;
  std::vector<LayerSpec> specs_;  // hidden layers, then the head
  ParameterLayout layout_;
  DeviceArray<uint8_t> masks_;
  DeviceArray<int32_t> order_, eval_index_, labels_;
  DeviceArray<float> params_, grads_, m_, v_, x_, loss_, correct_;
  DeviceArray<float> running_mean_, running_var_;
  std::optional<LayerStack> net_;
  DeviceArray<int64_t> steps_done_;
  std::unique_ptr<StepRecording> recording_;
  int64_t step_ = 0;
};

// The classifier as the run library trains it: validation loss and accuracy on the probe's fit
// images every --eval-every steps (default: every epoch). No checkpoints yet.
class ClassifierRun final : public Trainable {
 public:
  ClassifierRun(ShapeClassifier& m, const TrainOptions& o, std::vector<int32_t> val)
      : m_(m), o_(o), val_(std::move(val)) {}
  Schedule schedule() const override;
  int64_t steps_done() const override { return m_.steps_done(); }
  int replicas() const override { return 1; }
  uint64_t seed(int) const override { return o_.seed; }
  void step() override { m_.step(); }
  void synchronize() override { m_.backend().synchronize(); }
  double last_loss() override { return static_cast<double>(m_.last_loss()); }
  // epoch, train_loss, val_loss, val_acc.
  std::vector<MetricValues> evaluate() override;
  std::string describe(const MetricValues& m) const override;
  std::optional<Divergence> find_nonfinite(bool state) override { return m_.find_nonfinite(state); }
  void write_checkpoint(const std::string& path) override;
  std::string lr_option() const override { return "--lr"; }

 private:
  ShapeClassifier& m_;
  TrainOptions o_;
  std::vector<int32_t> val_;
};

}  // namespace xent::dsprites
