// The paper's DisLib experiment (Table 4; klindtlab/csi dislib/main.py): a classifier trained
// with softmax cross-entropy on a dataset's label, for a population of repeats at once, each
// stopped early on its validation accuracy; then a linear probe from its representation (or
// from the pixels) to every factor.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiments/dislib/config.h"
#include "xent/backend.h"
#include "xent/dislib.h"
#include "xent/layers.h"
#include "xent/loss.h"
#include "xent/run.h"
#include "xent/training_step.h"

namespace xent::dislib {

// Pearson r between each z-scored target (Dataset::targets order) and its least-squares
// prediction without intercept, on the scoring images.
using ProbeScores = std::vector<double>;

// Fits the probe on `fit` images and scores it on `score` images. features(images, n, out)
// writes n rows of p floats for the given image numbers; it is called on chunks of at most
// `chunk` images.
ProbeScores correlate_factors(const Dataset& d, const std::vector<int32_t>& fit,
                              const std::vector<int32_t>& score, int p, int64_t chunk,
                              const std::function<void(const int32_t*, int64_t, float*)>& features);

// The raw-pixel baseline: the same probe on the images themselves, rendered by `b`.
ProbeScores correlate_pixels(Backend& b, const Dataset& d, const std::vector<int32_t>& fit,
                             const std::vector<int32_t>& score);

// The images a repeat's probe uses: the first probe.fit of its validation part and the first
// probe.score of its test part (all when 0).
struct ProbeImages {
  std::vector<int32_t> fit, score;
};
ProbeImages probe_images(const RunConfig& c, const Split& s);

struct EvalResult {
  double loss = 0, acc = 0;
};

// Trains the classifier of every repeat (its parameters, Adam state, batches and evaluation):
// model.kind linear (one Linear to model.width) or mlp
// (model.layers x (Linear + BatchNorm + ReLU) of model.width units), then a Linear head to the
// classes. Repeat r has its own split (data.split_seed + r), initialisation and batch order
// (train.seed + r); all repeats go through the same launches.
class ClassifierTrainer {
 public:
  ClassifierTrainer(Backend& b, const RunConfig& c);
  ClassifierTrainer(const ClassifierTrainer&) = delete;
  ClassifierTrainer& operator=(const ClassifierTrainer&) = delete;

  // One Adam step of every repeat on its next batch (a new order every epoch).
  void step();
  int64_t steps_done() const { return train_->steps_done(); }
  void set_steps_done(int64_t s);
  int64_t steps_per_epoch() const;
  // Every repeat's training loss at the last step.
  std::vector<float> last_losses() const;
  // Loss and accuracy of every repeat on its own images (images[r], all the same length), in
  // evaluation mode (running BatchNorm statistics).
  std::vector<EvalResult> evaluate(const std::vector<std::vector<int32_t>>& images);
  // Repeat r's representation of n images, out [n][model.width] (evaluation mode).
  void features(int r, const int32_t* images, int64_t n, float* out);
  // Keeps repeat r's parameters and statistics as its best; restore_best puts every repeat's
  // best back.
  void keep_best(int r);
  void restore_best();
  // Everything a checkpoint holds: parameters, Adam moments, running statistics and the best.
  std::vector<StateTensor> state();
  // The first non-finite value in the last step's loss and, with `state`, in the parameters.
  std::optional<Divergence> find_nonfinite(bool state);
  const std::vector<Split>& splits() const { return splits_; }
  const Dataset& data() const { return d_; }
  Backend& backend() { return b_; }

 private:
  void forward_backward();  // a step's own calls: the batch, the forward and backward passes
  void upload_order(int64_t epoch);

  Backend& b_;
  RunConfig c_;
  const Dataset& d_;
  int K_;
  std::vector<Split> splits_;
  std::vector<LayerSpec> specs_;  // the representation's layers, then the head
  ParameterLayout layout_;
  std::unique_ptr<Loss> loss_;  // softmax cross-entropy on the label factor
  DeviceArray<uint8_t> tables_;
  DeviceArray<int32_t> order_, eval_index_, labels_;
  DeviceArray<float> params_, grads_, x_, eval_loss_, correct_;
  std::optional<TrainingStep> train_;
  DeviceArray<float> running_mean_, running_var_, best_params_, best_mean_, best_var_;
  std::optional<LayerStack> net_;
  int64_t order_epoch_ = -1;
};

// The classifier as the run library trains it: every repeat's validation loss and accuracy
// (on its probe's fit images) every train.eval_every steps (default: every epoch); a repeat
// whose best accuracy passes train.stop_acc stops there, and the run ends when all have.
class ClassifierRun final : public Trainable {
 public:
  ClassifierRun(ClassifierTrainer& m, const RunConfig& c);
  Schedule schedule() const override;
  int64_t steps_done() const override { return m_.steps_done(); }
  int replicas() const override { return c_.repeats; }
  uint64_t seed(int r) const override { return c_.seed + static_cast<uint64_t>(r); }
  void step() override { m_.step(); }
  void synchronize() override { m_.backend().synchronize(); }
  std::vector<double> last_losses() override {
    const std::vector<float> l = m_.last_losses();
    return {l.begin(), l.end()};
  }
  // epoch, train_loss, val_loss, val_acc, best_val_acc, stopped (0/1).
  std::vector<MetricValues> evaluate() override;
  std::string describe(const MetricValues& m) const override;
  std::optional<Divergence> find_nonfinite(bool state) override { return m_.find_nonfinite(state); }
  void write_checkpoint(const std::string& path) override;
  std::string lr_option() const override { return "train.lr"; }

  // Loads a checkpoint of this run's config (checked) into the classifier and the stopping
  // state.
  void restore(const std::string& path);
  // Whether some repeat has not stopped yet (each evaluation keeps a running repeat's best and
  // stops it once that passes train.stop_acc).
  bool running() const;
  // Per repeat: the best validation accuracy and the step it was reached at.
  const std::vector<double>& best_acc() const { return best_acc_; }
  const std::vector<int64_t>& best_step() const { return best_step_; }
  const std::vector<bool>& stopped() const { return stopped_; }

 private:
  std::vector<StateTensor> state();

  ClassifierTrainer& m_;
  RunConfig c_;
  DeviceArray<float> stopping_;  // [K][3] in checkpoints: best hits, best step, stopped
  std::vector<std::vector<int32_t>> val_;
  std::vector<double> best_acc_;
  std::vector<int64_t> best_step_;
  std::vector<bool> stopped_;
};

}  // namespace xent::dislib
