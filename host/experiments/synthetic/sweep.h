// Sweeps: many runs of the synthetic experiment from one TOML file, grouped into populations
// (runs that differ only in per-replica keys train in one Trainer), each run's results written
// as soon as its population ends, and a table of every run gathered at the end.
//
// A sweep file is a config file (its [dgp], [model], [train] keys apply to every run) plus:
//   title = "..."            a heading for the report (tools/report.py)
//   metrics = ["r2_a"]       the metrics the report tabulates
//   preset = "sup-base"      applied to every run before the file's keys
//   seeds = [0, 1, 2]        one run per seed (default [0]); train.seed is not set otherwise
//   [grid]                   key = [values]: one run per combination of the values
//   [[row]]                  name = "d10", config keys, paper.<metric> = value (the published
//                            number, in percent, for the report): one row per table row (its
//                            keys apply to that row's runs only)
// Runs: every row x every grid combination x every seed.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "xent/config.h"
#include "xent/trainer.h"

namespace xent {

struct SweepRun {
  std::string id;   // stable and readable: row, grid values and seed ("d10_seed3")
  std::string row;  // the [[row]] name; "" when the file has no rows
  uint64_t seed = 0;
  Config config;
};

struct SweepPlan {
  std::vector<SweepRun> runs;
  // Indices into runs; every population shares population_key() and holds at most
  // max_population runs.
  std::vector<std::vector<size_t>> populations;
};

struct SweepOptions {
  int64_t steps = 0;  // > 0: train.steps for every run, eval_every scaled to match
  int max_population = 16;
  std::vector<std::string> sets;  // key=value for every run, after the file
  std::vector<std::string> rows;  // non-empty: only these [[row]]s
};

// Reads a sweep file and resolves every run's config. Throws InputError naming the file and key
// on an unknown key, an empty list, a key set twice, or a bad value, before anything runs.
SweepPlan plan_sweep(const std::string& file, const SweepOptions& o);
SweepPlan plan_sweep_text(std::string_view text, const std::string& file, const SweepOptions& o);

// The result of one run as its population left it.
struct RunResult {
  bool ok = false;
  std::string error;          // when !ok
  ReplicaMetrics metrics;     // when ok
  std::string metrics_jsonl;  // its evaluations, one JSON object a line
  double wall_s = 0;          // its population's wall time
  int population = 1;         // how many runs shared its population
  int rank = 0;               // the MPI rank that ran it
  std::string backend;
};

// OUT/runs/<id>/: config.toml and metrics.jsonl, then summary.json when it finished, or
// failed.json when its population threw. Each file is written atomically.
std::string run_dir(const std::string& out, const SweepRun& r);
void write_run(const std::string& out, const SweepRun& r, const RunResult& result);
// A run is done when its summary.json exists. Throws InputError when the directory holds a
// different config than the plan's (a sweep file changed under the same OUT).
bool run_done(const std::string& out, const SweepRun& r);

// Trains the given runs of the plan (one population's, or what is left of it) on b and writes
// each run's files. A population that throws (a diverged replica, a device error) is written as
// failed and false returned; only a failure to write files throws. progress: a bar on a
// terminal, a line per population otherwise.
bool run_population(Backend& b, const SweepPlan& plan, const std::vector<size_t>& runs,
                    const std::string& out, int rank, bool progress);

// Gathers every run of the plan from OUT/runs into OUT/results.jsonl and OUT/results.csv
// (plan order; a run without summary.json is a failed row). Returns the number of failed runs.
int write_results(const std::string& out, const SweepPlan& plan);

}  // namespace xent
