// One run: train something to its last step, evaluate on its schedule, write checkpoints, guard
// against divergence, and hand every evaluation to a metrics sink. The one run loop that
// `xent train`, `xent sweep`, `xent dsprites` and the Python binding call; they keep only their
// flags and files. What it trains is a Trainable: the synthetic experiment's Trainer (through
// TrainerRun) or the DisLib classifier.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xent/training_step.h"

namespace xent {

// A replica's metrics at one evaluation, named, in file order.
struct Metric {
  std::string name;
  double value;
};
using MetricValues = std::vector<Metric>;
// The value named `name`. Throws std::out_of_range when there is none.
double metric(const MetricValues& v, const std::string& name);

// One evaluation of one replica.
struct MetricsRow {
  int64_t step = 0;
  int replica = 0;
  uint64_t seed = 0;
  double wall_s = 0;  // since the run started
  MetricValues values;
};

// Where a run's evaluations go: a JSONL file for the CLI, memory for tests and bindings.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // One evaluation, a row per replica in replica order.
  virtual void write(const std::vector<MetricsRow>& rows) = 0;
  // The training loss of the last step at every loss check (every kLossCheckEvery steps), a row
  // per replica whose one value is "loss": the curve of training itself, between evaluations.
  // Dropped unless a sink keeps it.
  virtual void write_losses(const std::vector<MetricsRow>& rows) { (void)rows; }
};

class MemorySink final : public MetricsSink {
 public:
  void write(const std::vector<MetricsRow>& batch) override {
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  void write_losses(const std::vector<MetricsRow>& batch) override {
    losses.insert(losses.end(), batch.begin(), batch.end());
  }
  std::vector<MetricsRow> rows, losses;
};

// Every row to two sinks (either may be null): a run directory's files and a front end's memory.
class TeeSink final : public MetricsSink {
 public:
  TeeSink(MetricsSink* a, MetricsSink* b) : a_(a), b_(b) {}
  void write(const std::vector<MetricsRow>& rows) override {
    for (MetricsSink* s : {a_, b_})
      if (s) s->write(rows);
  }
  void write_losses(const std::vector<MetricsRow>& rows) override {
    for (MetricsSink* s : {a_, b_})
      if (s) s->write_losses(rows);
  }

 private:
  MetricsSink *a_, *b_;
};

// How often the run loop reads the training loss back: to stop a diverged run, and for
// MetricsSink::write_losses. The loss is K floats the step computed anyway, but reading it is
// a device-to-host copy (a sync on a GPU), so not every step.
constexpr int64_t kLossCheckEvery = 100;

// When a run evaluates and checkpoints: every eval_every (checkpoint_every) steps when > 0,
// and at the last step.
struct Schedule {
  int64_t steps = 0;
  int64_t eval_every = 0;
  int64_t checkpoint_every = 0;
};

// What the run loop trains: K replicas stepped together.
class Trainable {
 public:
  virtual ~Trainable() = default;
  virtual Schedule schedule() const = 0;
  virtual int64_t steps_done() const = 0;
  virtual int replicas() const = 0;
  virtual uint64_t seed(int replica) const = 0;
  virtual void step() = 0;
  // Waits for the steps issued so far to finish (a GPU runs them after step() returns).
  virtual void synchronize() = 0;
  // Every replica's training loss at the last step (a read from the backend, which waits for
  // the step: at loss checks and for progress only).
  virtual std::vector<double> last_losses() = 0;
  // Every replica's metrics (may throw DivergedError for a non-finite result).
  virtual std::vector<MetricValues> evaluate() = 0;
  // A replica's evaluation in a few words for the progress line ("r2_a 0.97  acc 0.51 ...").
  virtual std::string describe(const MetricValues& m) const = 0;
  // The first replica and tensor holding a non-finite value (the loss; with `state`, the whole
  // trained state too: a full download).
  virtual std::optional<Divergence> find_nonfinite(bool state) = 0;
  // The whole state, so that a resumed run continues bit for bit. Throws InputError where the
  // run cannot be checkpointed.
  virtual void write_checkpoint(const std::string& path) = 0;
  // The option that sets the learning rate, for the divergence message's advice.
  virtual std::string lr_option() const = 0;
};

struct RunSpec {
  // Rows' wall_s count from here (default: the call), so that a front end can include the
  // trainer's construction (the DGP's mixing draw) in them.
  std::chrono::steady_clock::time_point started{};
  // Checkpoints (every checkpoint_every steps, at the end, and at step 0 of a fresh run) go to
  // this path; "" writes none.
  std::string checkpoint;
  // A resumed run whose checkpoint is its final step has nothing left to train: it evaluates
  // once more for the summary, and writes that evaluation's rows unless the sink has them.
  bool final_rows_written = false;
  // Progress on stderr: a bar on a terminal, otherwise (log_evaluations) a line per evaluation.
  bool progress_bar = false;
  bool log_evaluations = false;
  // What the bar shows after the rate: "" shows the loss (and the evaluation's description).
  std::string progress_label;
  // How a divergence names replica k (default: "replica k (seed s)").
  std::function<std::string(int replica)> replica_name;
  // Called after every evaluation's rows are written; returning false ends the run there (its
  // last evaluation is the result, and a checkpoint is written when checkpoints are on).
  std::function<bool(int64_t step, const std::vector<MetricValues>&)> on_evaluation;
  // Called between steps, after step `step` and its evaluation and checkpoint; returning false
  // ends the run there and writes nothing more, so that the last checkpoint stays the one to
  // resume from (the Python binding stops so on Ctrl-C, and draws its progress bar here).
  std::function<bool(int64_t step)> between_steps;
};

struct RunOutcome {
  std::vector<MetricValues> metrics;  // the last evaluation, per replica
  int64_t steps_trained = 0;          // by this call (a resumed run counts from its checkpoint)
  double wall_s = 0;                  // the whole call
  double train_s = 0;                 // from the first step to the last evaluation
  bool stopped = false;               // on_evaluation ended it before the last step
  // The steady state: the steps after this call's first two (on CUDA the first runs eagerly
  // and the second captures the graph that the rest replay), timed by themselves: evaluations,
  // checkpoints and the state checks before them are left out. 0 and 0 when there were none.
  int64_t steady_steps = 0;
  double steady_s = 0;
};

// Trains t from t.steps_done() to its last step. A replica whose loss, state or results become
// non-finite stops the run with DivergedError naming the step, the replica, the tensor and the
// last good checkpoint; no checkpoint ever holds a non-finite state.
RunOutcome run(Trainable& t, MetricsSink& sink, const RunSpec& spec = {});

}  // namespace xent
