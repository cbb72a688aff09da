// One run's directory, the same for every front end (`xent train`, each run of `xent sweep`,
// `xent dislib`, the Python package): config.toml (the resolved config), metrics.jsonl and
// loss.jsonl, checkpoint.xck, the experiment's result files (results.csv) and summary.json, whose
// envelope (Summary) is the same whichever command wrote it.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/metrics_files.h"
#include "xent/run.h"

namespace xent {

// The version of summary.json's envelope; a reader upgrades older files (tools/summary_schema.py
// reads the summaries that xent wrote before the envelope, which have no "schema" key).
inline constexpr int kSummarySchema = 1;

// summary.json: these keys, in this order, for every command.
struct Summary {
  // What ran: "command" (train, sweep, dislib), "experiment" (synthetic, dislib), "preset", then
  // what the command adds (DisLib: dataset, model; a sweep's run: id, row, rank and the
  // population the run was trained in).
  nlohmann::ordered_json run = nlohmann::ordered_json::object();
  std::string config_toml;  // the resolved config; written as a JSON object of its tables
  std::string backend;      // cpu or the CUDA device's name
  int64_t steps = 0;        // steps the run has trained, in all
  // Seconds and rates only (wall_s, train_s, steps_per_s, ...): what two runs of one config
  // do not share.
  nlohmann::ordered_json timings = nlohmann::ordered_json::object();
  // Per replica (a DisLib repeat is a replica): "replica", "seed", then its final results.
  nlohmann::ordered_json replicas = nlohmann::ordered_json::array();
  // The experiment's results over all replicas (DisLib: targets and Pearson r mean and std);
  // empty where there are none.
  nlohmann::ordered_json results = nlohmann::ordered_json::object();
};

// A value of xent's resolved-config TOML as JSON: numbers, "strings", [arrays] and booleans are
// JSON already; anything else (inf, nan) is kept as its text.
nlohmann::ordered_json toml_value_json(const std::string& toml_value);
// The envelope as JSON: schema, run, config, backend, steps, timings, replicas, results.
nlohmann::ordered_json summary_json(const Summary& s);
// A run loop's timings: wall_s (the front end's whole call), train_s, steps_per_s, steady_steps
// and steady_steps_per_s (RunOutcome).
nlohmann::ordered_json run_timings(const RunOutcome& r, double wall_s);

class RunDirectory {
 public:
  // A fresh run in dir: the directory is created (one that holds files is refused unless
  // force), config.toml written and an earlier run's outputs removed.
  static RunDirectory fresh(const std::string& dir, bool force, const std::string& config_toml);
  // Throws InputError unless dir holds a run that `command` wrote and can resume: its
  // config.toml (returned: the path) and checkpoint.xck. Nothing is touched.
  static std::string resumable(const std::string& dir, const std::string& command);
  // A run resumed in dir from its checkpoint at `step` (call it once the checkpoint is
  // restored, so that a refused resume leaves the directory as it was): config.toml rewritten
  // (a resume may extend the run), summary.json removed, the rows after `step` dropped.
  static RunDirectory resume(const std::string& dir, const std::string& config_toml, int64_t step);

  const std::string& dir() const { return dir_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  std::string checkpoint() const { return file("checkpoint.xck"); }
  bool resumed() const { return resumed_; }
  // A resumed run's metrics.jsonl already has the rows of its checkpoint's step.
  bool final_rows_written() const { return final_rows_written_; }
  // metrics.jsonl and loss.jsonl, appended to when resumed.
  std::unique_ptr<JsonlSink> sink() const;
  // An output file, written atomically.
  void write(const std::string& name, const std::string& text) const;
  void write_summary(const Summary& s) const;

 private:
  explicit RunDirectory(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  bool resumed_ = false;
  bool final_rows_written_ = false;
};

}  // namespace xent
