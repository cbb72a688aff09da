// One run of the synthetic experiment: train a Trainer to train.steps, evaluate on its schedule,
// write checkpoints, guard against divergence, and hand every evaluation to a metrics sink. The
// one run loop that `xent train`, `xent sweep` and the Python binding call; they keep only
// their flags and files.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xent/trainer.h"

namespace xent {

// One evaluation of one replica.
struct MetricsRow {
  int64_t step = 0;
  int replica = 0;
  uint64_t seed = 0;
  double wall_s = 0;  // since the run started
  ReplicaMetrics metrics;
};

// Where a run's evaluations go: a JSONL file for the CLI, memory for tests and bindings.
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // One evaluation, a row per replica in replica order.
  virtual void write(const std::vector<MetricsRow>& rows) = 0;
};

class MemorySink final : public MetricsSink {
 public:
  void write(const std::vector<MetricsRow>& batch) override {
    rows.insert(rows.end(), batch.begin(), batch.end());
  }
  std::vector<MetricsRow> rows;
};

struct RunSpec {
  // Rows' wall_s count from here (default: the call), so that a front end can include the
  // trainer's construction (the DGP's mixing draw) in them.
  std::chrono::steady_clock::time_point started{};
  // Checkpoints (every train.checkpoint_every steps, at the end, and at step 0 of a fresh run)
  // go to this path; "" writes none.
  std::string checkpoint;
  // A resumed run whose checkpoint is its final step has nothing left to train: it evaluates
  // once more for the summary, and writes that evaluation's rows unless the sink has them.
  bool final_rows_written = false;
  // Progress on stderr: a bar on a terminal, otherwise (log_evaluations) a line per evaluation.
  bool progress_bar = false;
  bool log_evaluations = false;
  // What the bar shows after the rate: "" shows the loss (and R2 at evaluations).
  std::string progress_label;
  // How a divergence names replica k (default: "replica k (seed s)").
  std::function<std::string(int replica)> replica_name;
  // Called after every evaluation's rows are written; returning false ends the run there (its
  // last evaluation is the result).
  std::function<bool(int64_t step, const std::vector<ReplicaMetrics>&)> on_evaluation;
};

struct RunOutcome {
  std::vector<ReplicaMetrics> metrics;  // the last evaluation, per replica
  int64_t steps_trained = 0;            // by this call (a resumed run counts from its checkpoint)
  double wall_s = 0;                    // the whole call
  double train_s = 0;                   // from the first step to the last evaluation
  bool stopped = false;                 // on_evaluation ended it before train.steps
};

// Trains t from t.steps_done() to its config's train.steps. A replica whose loss, state or
// features become non-finite stops the run with DivergedError naming the step, the replica, the
// tensor and the last good checkpoint; no checkpoint ever holds a non-finite state.
RunOutcome run(Trainer& t, MetricsSink& sink, const RunSpec& spec = {});

}  // namespace xent
