// A sweep from its plan to its table, on one rank of however many the front end runs
// (`xent sweep` under mpirun: the MPI world; xent.sweep: one): this rank's populations trained
// (skipping finished runs), then on rank 0 OUT/results.{jsonl,csv} and OUT/sweep.json, or, for
// one shard of several (--shard, a SLURM job array), that shard's entry for a later gather.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "experiments/synthetic/sweep.h"

namespace xent {

// This process among the ones a sweep runs on; one process by default.
class Ranks {
 public:
  virtual ~Ranks() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  // Every rank's value summed, on rank 0; also a barrier: every rank has written its runs.
  virtual int sum(int value) const { return value; }
  // Ends every rank after `what` failed on this one (the others would wait at the barrier).
  [[noreturn]] virtual void abort_all(const char* what) const;
};

// Shard I of N trains populations I, I + N, ... (shared further over its ranks).
struct Shard {
  int index = 0, count = 1;
};
// --shard I/N, else a SLURM job array (SLURM_ARRAY_TASK_ID counted from SLURM_ARRAY_TASK_MIN,
// out of SLURM_ARRAY_TASK_COUNT: an array of consecutive task ids, --array=0-(N-1)), else the
// whole sweep. Throws InputError naming the flag or variable.
Shard resolve_shard(const std::string& flag);

struct SweepJob {
  std::string file;  // the sweep file's name, as sweep.json records it
  std::string text;  // its text, copied to OUT/sweep.toml (for tools/report.py)
  SweepOptions options;
  std::string out;
  std::string device = "auto";
  Shard shard;
  bool progress = false;  // a line per population on stderr
  // Called between populations; returning false stops the sweep there (the Python binding's
  // Ctrl-C): the finished runs keep their files and nothing else is written.
  std::function<bool()> between_populations;
};

struct SweepOutcome {
  int trained = 0;  // runs trained by every rank of this invocation
  int failed = 0;   // failed or unfinished runs in the table (rank 0, one shard)
  double wall_s = 0;
  bool stopped = false;  // between_populations ended it
};

// "population p/P: n runs, supervised d=..., ... steps", for progress and --dry-run.
std::string describe_population(const SweepPlan& plan, size_t p);

// Trains this rank's share of `plan` into job.out. Throws InputError before any run starts when
// a run directory holds another config; a failed population is a failed run, not an error.
SweepOutcome run_sweep(const SweepPlan& plan, const SweepJob& job, const Ranks& ranks);

// The table of every run the shards wrote into job.out, their invocations merged into
// sweep.json. Returns the number of failed (or not yet finished) runs and how many shard
// entries were merged.
std::pair<int, size_t> gather_sweep(const SweepPlan& plan, const SweepJob& job);

}  // namespace xent
