// The synthetic experiment's Trainer in the engine's run loop (as a Trainable, its metrics as
// named values) and in checkpoints (the hashes of its config, its state written and restored).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xent/checkpoint.h"
#include "xent/config.h"
#include "xent/run.h"
#include "xent/trainer.h"

namespace xent {

// The synthetic experiment's metrics as named values (r2_a, r2_o, mae_o, r2_w, r2_o_w,
// mae_o_w, mcc, acc, loss) and back.
MetricValues metric_values(const ReplicaMetrics& m);
ReplicaMetrics replica_metrics(const MetricValues& v);

// The synthetic experiment's Trainer as a Trainable.
class TrainerRun final : public Trainable {
 public:
  explicit TrainerRun(Trainer& t) : t_(t) {}
  Schedule schedule() const override;
  int64_t steps_done() const override { return t_.steps_done(); }
  int replicas() const override { return t_.config().train.population; }
  uint64_t seed(int replica) const override { return t_.seed(replica); }
  void step() override { t_.step(); }
  void synchronize() override { t_.backend().synchronize(); }
  std::vector<double> last_losses() override;
  std::vector<MetricValues> evaluate() override;
  std::string describe(const MetricValues& m) const override;
  std::optional<Divergence> find_nonfinite(bool state) override;
  void write_checkpoint(const std::string& path) override;
  std::string lr_option() const override { return "train.lr"; }

 private:
  Trainer& t_;
};

// FNV-1a 64 of the values that fix the shapes of the saved tensors: d, the number of classes,
// the encoder widths and the population K (computed from shape_keys()).
uint64_t config_shape_hash(const Config& c);
// FNV-1a 64 of the resolved config's keys that differ from their defaults, resume_keys()
// (train.steps) excepted: a resumed run may change them. Keys added to xent later, at their
// defaults, leave it unchanged, so a newer xent still resumes an older run.
uint64_t config_hash(const Config& c);

// Writes the trainer's state to path atomically (path + ".tmp", fsync, rename): path holds
// either the previous checkpoint or this one, never a mix. Throws InputError naming path.
void write_checkpoint(const std::string& path, Trainer& t);

// Throws InputError "path: problem" unless ck was written by a run of config c.
void check_checkpoint(const Checkpoint& ck, const Config& c, const std::string& path);

// Loads ck (checked against t's config) into t, including its step count.
void restore_checkpoint(Trainer& t, const Checkpoint& ck, const std::string& path);

}  // namespace xent
