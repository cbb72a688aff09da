// A DisLib run from its config to its results: train.repeats classifiers trained at once (none
// for model.kind = pixels), each stopped early on its validation accuracy, then every repeat's
// probe. `xent dislib` and xent.dislib call it; they keep only their flags and printing.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/run_directory.h"
#include "experiments/dislib/classifier.h"
#include "experiments/dislib/config.h"
#include "xent/backend.h"
#include "xent/run.h"

namespace xent::dislib {

struct Job {
  RunConfig config;
  // The run directory (docs/run-directory.md); "" writes no files and no checkpoints.
  std::string out;
  bool resume = false;  // continue the run in `out` from its checkpoint (checked first)
  bool force = false;   // reuse an `out` that holds files
  bool quiet = true;    // otherwise progress and what it does on stderr
  // A sink that gets every evaluation and loss row as well (the Python binding's memory).
  MetricsSink* also = nullptr;
  // RunSpec::between_steps: returning false stops training there (the Python binding's Ctrl-C),
  // and nothing more is written.
  std::function<bool(int64_t step)> between_steps;
};

struct Outcome {
  std::vector<ProbeScores> scores;  // per repeat, Dataset::targets order
  Summary summary;                  // summary.json
  std::string results_csv;          // results.csv: repeat,seed,split_seed,target,pearson_r
  bool interrupted = false;         // Job::between_steps stopped it: nothing else is set
};

// The config of the run in dir, resumed with `sets` (train.max_epochs, train.steps and
// train.threads may change). Throws InputError, touching nothing, unless dir holds a DisLib run
// with a checkpoint to resume.
RunConfig resumed_config(const std::string& dir, const std::vector<std::string>& sets);

// Runs `job` on b and writes its directory. Throws InputError (bad config, a refused resume or
// directory) before anything is written, DivergedError when a repeat diverges.
Outcome run(Backend& b, const Job& job);

// Mean and sample standard deviation (n - 1; 0 for one repeat) over the repeats.
std::pair<double, double> mean_std(const std::vector<double>& v);

}  // namespace xent::dislib
