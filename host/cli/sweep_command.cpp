// xent sweep: the runs of a sweep file, grouped into populations, each run's files written as it
// ends, and OUT/results.{jsonl,csv} gathered at the end. Under mpirun the populations are shared
// out over the ranks (rank r trains populations r, r + R, ...) and rank 0 gathers the table from
// the shared OUT directory after a barrier.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "experiments/synthetic/sweep.h"
#include "io/files.h"
#include "xent/error.h"
#if defined(XENT_HAVE_MPI)
#include <mpi.h>
#endif

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

// Shard I of N trains populations I, I + N, ... (shared further over its MPI ranks).
struct Shard {
  int index = 0, count = 1;
};

int shard_number(const std::string& text, const std::string& what) {
  size_t used = 0;
  int v = -1;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || v < 0)
    throw InputError(what + ": expected a whole number >= 0, got '" + text + "'");
  return v;
}

// --shard I/N, else a SLURM job array (SLURM_ARRAY_TASK_ID counted from SLURM_ARRAY_TASK_MIN,
// out of SLURM_ARRAY_TASK_COUNT: an array of consecutive task ids, --array=0-(N-1)), else the
// whole sweep.
Shard resolve_shard(const std::string& flag) {
  Shard s;
  std::string where = "--shard";
  if (!flag.empty()) {
    const size_t slash = flag.find('/');
    if (slash == std::string::npos)
      throw InputError("--shard: expected I/N (shard I of N, I from 0), got '" + flag + "'");
    s.index = shard_number(flag.substr(0, slash), "--shard " + flag + ": I");
    s.count = shard_number(flag.substr(slash + 1), "--shard " + flag + ": N");
  } else if (const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT")) {
    const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
    if (!id) throw InputError("SLURM_ARRAY_TASK_COUNT is set but SLURM_ARRAY_TASK_ID is not");
    const char* min = std::getenv("SLURM_ARRAY_TASK_MIN");
    s.count = shard_number(count, "SLURM_ARRAY_TASK_COUNT");
    s.index = shard_number(id, "SLURM_ARRAY_TASK_ID") -
              (min ? shard_number(min, "SLURM_ARRAY_TASK_MIN") : 0);
    where = "SLURM_ARRAY_TASK_ID";
  }
  if (s.count < 1) throw InputError(where + ": N must be >= 1");
  if (s.index < 0 || s.index >= s.count)
    throw InputError(where + ": shard " + std::to_string(s.index) + " is not in [0, " +
                     std::to_string(s.count) +
                     ") (a SLURM array must have consecutive task ids, e.g. --array=0-" +
                     std::to_string(s.count - 1) + ")");
  return s;
}

// The MPI world, or one rank without MPI. Finalized on scope exit; a rank that fails while the
// others may be waiting at the barrier aborts them all instead (see abort_all).
class Ranks {
 public:
  Ranks() {
#if defined(XENT_HAVE_MPI)
    // Only under a launcher (MPICH's sets PMI_RANK): a plain `xent sweep` is one rank and skips
    // MPI's start-up (a singleton init probes the network).
    if (!std::getenv("PMI_RANK") && !std::getenv("PMI_SIZE")) return;
    MPI_Init(nullptr, nullptr);
    mpi_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
#endif
  }
  ~Ranks() {
#if defined(XENT_HAVE_MPI)
    if (mpi_) MPI_Finalize();
#endif
  }
  Ranks(const Ranks&) = delete;
  Ranks& operator=(const Ranks&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  // Every rank's value summed, on rank 0; also a barrier: every rank has written its runs.
  int sum(int value) const {
#if defined(XENT_HAVE_MPI)
    if (!mpi_) return value;
    int total = 0;
    MPI_Reduce(&value, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    return total;
#else
    return value;
#endif
  }
  [[noreturn]] void abort_all(const char* what) const {
    std::fprintf(stderr, "xent: error (rank %d): %s\n", rank_, what);
#if defined(XENT_HAVE_MPI)
    if (mpi_) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
    std::exit(1);
  }

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

std::string describe(const SweepPlan& plan, size_t p) {
  const auto& pop = plan.populations[p];
  const Config& c = plan.runs[pop.front()].config;
  return "population " + std::to_string(p + 1) + "/" + std::to_string(plan.populations.size()) +
         ": " + std::to_string(pop.size()) + (pop.size() == 1 ? " run, " : " runs, ") +
         (c.dgp.labels == LabelMode::Diet ? "DIET" : "supervised") +
         " d=" + std::to_string(c.dgp.d) + ", " + std::to_string(c.dgp.classes()) + " classes, " +
         std::to_string(c.train.steps) + " steps";
}

void dry_run(const SweepPlan& plan, int ranks) {
  std::printf("%zu runs in %zu populations", plan.runs.size(), plan.populations.size());
  if (ranks > 1) std::printf(" over %d ranks", ranks);
  std::printf("\n");
  for (size_t p = 0; p < plan.populations.size(); ++p) {
    std::printf("%s", describe(plan, p).c_str());
    if (ranks > 1) std::printf(" (rank %zu)", p % static_cast<size_t>(ranks));
    std::printf("\n");
    for (const size_t i : plan.populations[p]) std::printf("  %s\n", plan.runs[i].id.c_str());
  }
}

nlohmann::ordered_json invocation(const SweepArgs& a, int ranks, int trained, double wall) {
  return {{"file", a.file},
          {"steps", a.o.steps},
          {"sets", a.o.sets},
          {"rows", a.o.rows},
          {"max_population", a.o.max_population},
          {"ranks", ranks},
          {"device", a.device},
          {"trained", trained},
          {"wall_s", wall}};
}

// One entry per invocation in OUT/sweep.json, so that a resumed or sharded sweep's report can
// add up its wall time.
void append_history(const std::string& out, const std::vector<nlohmann::ordered_json>& entries) {
  nlohmann::ordered_json history =
      nlohmann::ordered_json::parse(read_file_or_empty(out + "/sweep.json"), nullptr, false);
  if (!history.is_object() || !history.contains("invocations") ||
      !history["invocations"].is_array())
    history = {{"invocations", nlohmann::ordered_json::array()}};
  for (const auto& e : entries) history["invocations"].push_back(e);
  write_file_atomic(out + "/sweep.json", history.dump(2) + "\n");
}

std::string shard_file(const std::string& out, const Shard& s) {
  return out + "/shards/shard-" + std::to_string(s.index) + "-of-" + std::to_string(s.count) +
         ".json";
}

// xent sweep --gather: the table of every run the shards wrote, their invocations merged into
// sweep.json. Returns the number of failed (or not yet finished) runs.
int gather(const SweepArgs& a) {
  const SweepPlan plan = plan_sweep(a.file, a.o);
  for (const auto& r : plan.runs) (void)run_done(a.out, r);
  if (!std::filesystem::is_directory(a.out + "/runs"))
    throw InputError(a.out + "/runs: missing (no shard of this sweep has written here)");
  const int failed = write_results(a.out, plan);
  std::vector<nlohmann::ordered_json> entries;
  std::vector<std::filesystem::path> merged;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(a.out + "/shards", ec)) {
    const auto j =
        nlohmann::ordered_json::parse(read_file_or_empty(f.path().string()), nullptr, false);
    if (j.is_object()) entries.push_back(j);
    merged.push_back(f.path());
  }
  std::sort(entries.begin(), entries.end(), [](const auto& x, const auto& y) {
    return x.value("shard", "") < y.value("shard", "");
  });
  append_history(a.out, entries);
  // Only once sweep.json holds them, so that a crash in between loses no entry.
  for (const auto& f : merged) std::filesystem::remove(f, ec);
  if (!a.quiet)
    std::printf(
        "%zu runs (%d failed or unfinished), %zu shard invocation%s merged. Table: "
        "%s/results.csv\n",
        plan.runs.size(), failed, entries.size(), entries.size() == 1 ? "" : "s", a.out.c_str());
  return failed;
}

// Returns the number of failed runs (on rank 0; 0 elsewhere).
int run_sweep(const SweepArgs& a, const Ranks& ranks) {
  const Shard shard = resolve_shard(a.shard);
  const SweepPlan plan = plan_sweep(a.file, a.o);
  if (a.dry_run) {
    if (ranks.rank() == 0) dry_run(plan, ranks.size());
    return 0;
  }
  const std::string out = a.out;
  // Every rank checks the same things and fails the same way before any run starts.
  for (const auto& r : plan.runs) (void)run_done(out, r);
  BackendOptions bo;
  bo.device = a.device;
  bo.rank = ranks.rank();
  (void)make_backend(bo);
  const auto t0 = std::chrono::steady_clock::now();
  const bool progress = !a.quiet;
  int trained_here = 0;
  try {
    std::error_code ec;
    std::filesystem::create_directories(out + "/runs", ec);
    if (ec) throw InputError(out + ": cannot create directory (" + ec.message() + ")");
    // The sweep file as run, for tools/report.py (paper values, row order).
    if (ranks.rank() == 0) write_file_atomic(out + "/sweep.toml", read_file_or_empty(a.file));
    int skipped = 0;
    // Shard i's rank r trains every (count * ranks)-th population from i * ranks + r.
    const auto stride = static_cast<size_t>(shard.count) * static_cast<size_t>(ranks.size());
    for (size_t p = static_cast<size_t>(shard.index) * static_cast<size_t>(ranks.size()) +
                    static_cast<size_t>(ranks.rank());
         p < plan.populations.size(); p += stride) {
      std::vector<size_t> todo;
      for (const size_t i : plan.populations[p])
        if (!run_done(out, plan.runs[i])) todo.push_back(i);
      skipped += static_cast<int>(plan.populations[p].size() - todo.size());
      if (todo.empty()) continue;
      if (progress)
        std::fprintf(stderr, "xent sweep%s: %s\n",
                     ranks.size() > 1 ? (" rank " + std::to_string(ranks.rank())).c_str() : "",
                     describe(plan, p).c_str());
      // The population's runs agree on train.tf32 and train.threads (neither is a per-replica
      // key).
      bo.tf32 = plan.runs[todo.front()].config.train.tf32;
      bo.threads = plan.runs[todo.front()].config.train.threads;
      auto backend = make_backend(bo);
      run_population(*backend, plan, todo, out, ranks.rank(), progress);
      trained_here += static_cast<int>(todo.size());
    }
    if (progress && skipped > 0)
      std::fprintf(stderr, "xent sweep: %d run%s already finished in %s, skipped\n", skipped,
                   skipped == 1 ? "" : "s", out.c_str());
  } catch (const std::exception& e) {
    if (ranks.size() > 1) ranks.abort_all(e.what());
    throw;
  }
  const int trained = ranks.sum(trained_here);
  if (ranks.rank() != 0) return 0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (shard.count > 1) {
    // Other shards may still be running: the table waits for --gather.
    nlohmann::ordered_json entry = invocation(a, ranks.size(), trained, wall);
    entry["shard"] = std::to_string(shard.index) + "/" + std::to_string(shard.count);
    std::error_code ec;
    std::filesystem::create_directories(out + "/shards", ec);
    write_file_atomic(shard_file(out, shard), entry.dump(2) + "\n");
    if (!a.quiet)
      std::printf(
          "shard %d/%d: %d runs trained in %.1f s. When every shard has ended: xent sweep "
          "-c %s --out %s --gather\n",
          shard.index, shard.count, trained, wall, a.file.c_str(), out.c_str());
    return 0;
  }
  const int failed = write_results(out, plan);
  append_history(out, {invocation(a, ranks.size(), trained, wall)});
  if (!a.quiet)
    std::printf("%zu runs (%d failed) in %zu populations, %.1f s. Table: %s/results.csv\n",
                plan.runs.size(), failed, plan.populations.size(), wall, out.c_str());
  return failed;
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
      const Ranks ranks;
      failed = run_sweep(*a, ranks);
    }
    if (failed > 0)
      throw DivergedError(std::to_string(failed) + " run" + (failed == 1 ? "" : "s") +
                          " failed (status 'failed' in " + a->out + "/results.csv)");
  });
}

}  // namespace xent::cli
