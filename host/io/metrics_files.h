// Metrics as files: every ReplicaMetrics becomes JSON here, and the JSONL sink that `xent train`
// and `xent sweep` write metrics.jsonl with.
#pragma once
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "xent/run.h"

namespace xent {

// The synthetic experiment's metric names in file order: r2_a, r2_o, mae_o, r2_w, r2_o_w,
// mae_o_w, mcc, acc, loss (metric_values' order).
const std::vector<std::string>& metric_names();
// {name: value, ...} in the values' order.
nlohmann::ordered_json metrics_json(const MetricValues& v);
// One metrics.jsonl line (with its newline): step, replica, seed, wall_s, then the values.
std::string metrics_row_json(const MetricsRow& row);

// A train run's summary.json (README, "Using it"): preset, backend, steps, population, wall_s,
// steps_per_s, steady_steps, steady_steps_per_s, then each replica's seed and final metrics.
// `xent train` writes it and xent.train returns it, from this one function.
nlohmann::ordered_json train_summary(const std::string& preset, const std::string& backend,
                                     const Config& c, const std::vector<uint64_t>& seeds,
                                     const RunOutcome& r, double wall_s);

// Appends every evaluation to a JSONL file (metrics.jsonl) and, with loss_path, every loss
// check's training losses to another (loss.jsonl: step, replica, seed, wall_s, loss), flushed
// after each. Throws InputError naming the file when it cannot be opened or written.
class JsonlSink final : public MetricsSink {
 public:
  // append: keep what the files hold (a resumed run); otherwise start them empty.
  JsonlSink(std::string path, bool append, std::string loss_path = "");
  void write(const std::vector<MetricsRow>& rows) override;
  void write_losses(const std::vector<MetricsRow>& rows) override;

 private:
  std::string path_, loss_path_;
  std::ofstream out_, loss_;
};

// For a resume from a checkpoint at `step`: keeps the rows of steps up to `step` (later ones
// came from evaluations after the checkpoint and will be written again) and drops a row torn by
// a crash. Returns whether rows for `step` itself are present.
bool truncate_metrics(const std::string& path, int64_t step);

}  // namespace xent
