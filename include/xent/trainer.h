// Training and evaluation of K replicas of the paper's synthetic experiment.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "xent/backend.h"
#include "xent/config.h"
#include "xent/model.h"

namespace xent {

// Metrics of one replica (DESIGN.md section 1), all on the fixed evaluation set.
struct ReplicaMetrics {
  double r2_a = 0, r2_o = 0, mae_o = 0, mcc = 0;  // f(x) -> z
  double r2_w = 0, r2_o_w = 0, mae_o_w = 0;       // rows of W -> cluster vectors (r2_w: intercept)
  double acc = 0, loss = 0;                       // classifier on the evaluation set
};

class Trainer {
 public:
  Trainer(Backend& b, const Config& c);
  // One step on a fresh batch: sample, mix, forward, cross-entropy, backward, Adam.
  void step();
  // Metrics of every replica, on the evaluation set drawn at construction.
  std::vector<ReplicaMetrics> evaluate();
  // The mean training loss of each replica at the last step (a copy from the backend).
  std::vector<float> last_loss() const;

  int64_t steps_done() const { return step_; }
  uint64_t seed(int k) const { return seeds_[k]; }
  Model& model() { return model_; }

 private:
  Backend& b_;
  Config c_;
  int K_;
  std::vector<uint64_t> seeds_;
  std::vector<DgpParams> dgp_;
  Model model_;
  DeviceArray<float> centres_, mixing_;
  DeviceArray<float> z_, x_;
  DeviceArray<int32_t> labels_;
  DeviceArray<float> m_, v_, loss_;
  // Evaluation set: latents, observations, labels, and each class's cluster vector.
  DeviceArray<float> ez_, ex_, efeat_, class_vec_;
  DeviceArray<int32_t> elabels_;
  DeviceArray<float> eloss_, ecorrect_;
  int64_t step_ = 0;
};

}  // namespace xent
