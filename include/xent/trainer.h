// Training and evaluation of K replicas of the paper's synthetic experiment.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/config.h"
#include "xent/error.h"
#include "xent/loss.h"
#include "xent/model.h"
#include "xent/training_step.h"

namespace xent {

// Metrics of one replica (docs/paper.md), all on the fixed evaluation set.
struct ReplicaMetrics {
  double r2_a = 0, r2_o = 0, mae_o = 0, mcc = 0;  // f(x) -> z
  double r2_w = 0, r2_o_w = 0, mae_o_w = 0;       // rows of W -> cluster vectors (r2_w: intercept)
  double acc = 0, loss = 0;                       // classifier on the evaluation set
};

class Trainer {
 public:
  // c.train.population replicas; replica k uses seed c.train.seed + k.
  Trainer(Backend& b, const Config& c);
  // One replica per config (each config's train.population is ignored). They must agree on
  // everything but per_replica_keys(); otherwise throws InputError naming the first key that
  // differs. Replica k is bit for bit the run Trainer(b, replicas[k]) gives alone.
  Trainer(Backend& b, const std::vector<Config>& replicas);
  // Its recorded step points at its own buffers.
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;
  // One step on a fresh batch: sample, mix, forward, loss, backward, Adam.
  void step();
  // Metrics of every replica, on the evaluation set drawn at construction.
  std::vector<ReplicaMetrics> evaluate();
  // The trained encoder f of every replica on the same observations x [n][d] (host memory):
  // features [K][n][d] (after the optional projection), in evaluation mode (BatchNorm's
  // running statistics) and in chunks of one batch, as evaluate() runs the evaluation set.
  std::vector<float> encode(const float* x, int64_t n);
  // The mean training loss of each replica at the last step (a copy from the backend).
  std::vector<float> last_loss() const;

  // Everything a resumed run needs besides the config and steps_done(): the parameters (named
  // as Model::tensors()), the Adam moments ("adam.m.<name>", "adam.v.<name>") and the
  // BatchNorm running statistics ("enc.<i>.bn.running_mean", "...running_var"). The random
  // state is implicit: step s draws its batch from Philox streams indexed by s * batch + i,
  // and the evaluation set is drawn at construction, so a trainer built from the same config
  // with this state and set_steps_done(s) continues bit for bit.
  std::vector<StateTensor> state();
  void set_steps_done(int64_t step);

  // The first non-finite value in the last step's loss and, when `params` is set or the loss
  // is bad, in the parameters, Adam moments and running statistics (a full download: ask for
  // it at evaluations and checkpoints, not every step). A bad loss is reported under the name
  // of the first non-finite tensor of its replica when there is one.
  std::optional<Divergence> find_nonfinite(bool params);

  int64_t steps_done() const { return train_.steps_done(); }
  const Config& config() const { return c_; }
  Backend& backend() { return b_; }
  uint64_t seed(int k) const { return seeds_[k]; }
  Model& model() { return model_; }

 private:
  // A training step's own calls: the batch, the forward and backward passes.
  void forward_backward();

  Backend& b_;
  Config c_;
  int K_;
  std::vector<uint64_t> seeds_;
  std::vector<DgpParams> dgp_;
  Model model_;
  std::unique_ptr<Loss> loss_;  // softmax cross-entropy on the batch's labels
  DeviceArray<float> centres_, mixing_;
  DeviceArray<float> z_, x_;
  DeviceArray<int32_t> labels_;
  TrainingStep train_;
  // Evaluation set: latents, observations, labels, and each class's cluster vector.
  DeviceArray<float> ez_, ex_, efeat_, class_vec_;
  DeviceArray<int32_t> elabels_;
  DeviceArray<float> eloss_, ecorrect_;
};

}  // namespace xent
