// xent sweep: the runs of a sweep file, grouped into populations, each run's files written as it
// ends, and OUT/results.{jsonl,csv} gathered at the end. Under mpirun the populations are shared
// out over the ranks (rank r trains populations r, r + R, ...) and rank 0 gathers the table from
// the shared OUT directory after a barrier.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/mpi_ranks.h"
#include "experiments/synthetic/sweep_job.h"
#include "io/files.h"
#include "xent/error.h"

namespace xent::cli {
namespace {

struct SweepArgs {
  std::string file;
  std::string out;
  std::string device = "auto";
  SweepOptions o;
  std::string shard;  // "I/N"; "" takes SLURM's array variables when set
  bool gather = false;
  bool dry_run = false;
  bool quiet = false;
};

void dry_run(const SweepPlan& plan, int ranks) {
  std::printf("%zu runs in %zu populations", plan.runs.size(), plan.populations.size());
  if (ranks > 1) std::printf(" over %d ranks", ranks);
  std::printf("\n");
  for (size_t p = 0; p < plan.populations.size(); ++p) {
    std::printf("%s", describe_population(plan, p).c_str());
    if (ranks > 1) std::printf(" (rank %zu)", p % static_cast<size_t>(ranks));
    std::printf("\n");
    for (const size_t i : plan.populations[p]) std::printf("  %s\n", plan.runs[i].id.c_str());
  }
}

SweepJob job_of(const SweepArgs& a) {
  SweepJob j;
  j.file = a.file;
  j.options = a.o;
  j.out = a.out;
  j.device = a.device;
  j.progress = !a.quiet;
  return j;
}

// xent sweep --gather: the table of every run the shards wrote. Returns the failed runs.
int gather(const SweepArgs& a) {
  const SweepPlan plan = plan_sweep(a.file, a.o);
  const auto [failed, merged] = gather_sweep(plan, job_of(a));
  if (!a.quiet)
    std::printf(
        "%zu runs (%d failed or unfinished), %zu shard invocation%s merged. Table: "
        "%s/results.csv\n",
        plan.runs.size(), failed, merged, merged == 1 ? "" : "s", a.out.c_str());
  return failed;
}

// Returns the number of failed runs (on rank 0; 0 elsewhere).
int run(const SweepArgs& a, const Ranks& ranks) {
  SweepJob job = job_of(a);
  job.shard = resolve_shard(a.shard);
  const SweepPlan plan = plan_sweep(a.file, a.o);
  if (a.dry_run) {
    if (ranks.rank() == 0) dry_run(plan, ranks.size());
    return 0;
  }
  // The sweep file as run, for tools/report.py (paper values, row order).
  job.text = read_file_or_empty(a.file);
  const SweepOutcome o = run_sweep(plan, job, ranks);
  if (ranks.rank() != 0 || a.quiet) return o.failed;
  if (job.shard.count > 1)
    std::printf(
        "shard %d/%d: %d runs trained in %.1f s. When every shard has ended: xent sweep "
        "-c %s --out %s --gather\n",
        job.shard.index, job.shard.count, o.trained, o.wall_s, a.file.c_str(), a.out.c_str());
  else
    std::printf("%zu runs (%d failed) in %zu populations, %.1f s. Table: %s/results.csv\n",
                plan.runs.size(), o.failed, plan.populations.size(), o.wall_s, a.out.c_str());
  return o.failed;
}

}  // namespace

void add_sweep(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sweep",
      "Run every run of a sweep file (a grid or list of config values times seeds). Runs that "
      "differ only in " +
          key_list(per_replica_keys()) +
          " train together as one population. Each run is written to OUT/runs/<id>/ as soon as "
          "its population ends, and a rerun skips finished runs; OUT/results.csv and "
          "results.jsonl gather every run. Under `mpirun -np R` the populations are shared out "
          "over R ranks.");
  auto a = std::make_shared<SweepArgs>();
  cmd->add_option("-c,--config", a->file, "The sweep file (see configs/table*.toml)")
      ->required()
      ->type_name("SWEEP.toml");
  cmd->add_option("--out", a->out, "Output directory (default: sweeps/<file name>)");
  cmd->add_option("--steps", a->o.steps,
                  "train.steps for every run (eval_every scaled to keep the number of "
                  "evaluations): the paper's tables at a length a CPU can afford")
      ->type_name("N");
  cmd->add_option("--max-population", a->o.max_population, "At most this many runs train together")
      ->capture_default_str();
  cmd->add_option("-s,--set", a->o.sets, "Override one key in every run (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--rows", a->o.rows, "Only these [[row]]s of the file (comma-separated)")
      ->delimiter(',')
      ->type_name("NAME,...");
  cmd->add_option("--device", a->device, "auto, cpu or cuda (auto: cuda when present)")
      ->capture_default_str();
  cmd->add_option("--shard", a->shard,
                  "Train only shard I of N (I from 0): populations I, I + N, ...; without it, "
                  "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT choose the shard when set. "
                  "Shards write their runs into the same OUT; --gather then writes the table")
      ->type_name("I/N");
  cmd->add_flag("--gather", a->gather,
                "Train nothing: gather every run in OUT into results.csv and results.jsonl "
                "(runs no shard finished are 'failed' rows) and merge the shards' invocations "
                "into sweep.json");
  cmd->add_flag("--dry-run", a->dry_run, "List the runs and populations, run nothing");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress or summary output");
  cmd->footer(
      "\nExit status: 0 every run finished; 3 some runs failed (status 'failed' in the table, "
      "the error in OUT/runs/<id>/failed.json); 2 bad input (checked before any run starts); "
      "1 anything else.\n");
  cmd->callback([a, cmd] {
    if (a->o.steps == 0 && cmd->count("--steps") > 0) throw InputError("--steps: must be >= 1");
    if (a->out.empty()) a->out = "sweeps/" + std::filesystem::path(a->file).stem().string();
    if (a->gather && (!a->shard.empty() || a->dry_run))
      throw InputError("--gather: trains nothing, so it takes neither --shard nor --dry-run");
    int failed = 0;
    if (a->gather) {
      failed = gather(*a);
    } else {
      const MpiRanks ranks;
      failed = run(*a, ranks);
    }
    if (failed > 0)
      throw DivergedError(std::to_string(failed) + " run" + (failed == 1 ? "" : "s") +
                          " failed (status 'failed' in " + a->out + "/results.csv)");
  });
}

}  // namespace xent::cli
