// Metrics as files: a run's metric values as JSON, and the JSONL sink that every front end writes
// metrics.jsonl and loss.jsonl with.
#pragma once
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "xent/run.h"

namespace xent {

// {name: value, ...} in the values' order.
nlohmann::ordered_json metrics_json(const MetricValues& v);
// One metrics.jsonl line (with its newline): step, replica, seed, wall_s, then the values.
std::string metrics_row_json(const MetricsRow& row);

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
