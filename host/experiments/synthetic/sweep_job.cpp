#include "experiments/synthetic/sweep_job.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/files.h"
#include "xent/error.h"

namespace xent {
namespace {

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

nlohmann::ordered_json invocation(const SweepJob& j, int ranks, int trained, double wall) {
  return {{"file", j.file},
          {"steps", j.options.steps},
          {"sets", j.options.sets},
          {"rows", j.options.rows},
          {"max_population", j.options.max_population},
          {"ranks", ranks},
          {"device", j.device},
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

}  // namespace

void Ranks::abort_all(const char* what) const {
  std::fprintf(stderr, "xent: error (rank %d): %s\n", rank(), what);
  std::exit(1);
}

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

std::string describe_population(const SweepPlan& plan, size_t p) {
  const auto& pop = plan.populations[p];
  const Config& c = plan.runs[pop.front()].config;
  return "population " + std::to_string(p + 1) + "/" + std::to_string(plan.populations.size()) +
         ": " + std::to_string(pop.size()) + (pop.size() == 1 ? " run, " : " runs, ") +
         (c.dgp.labels == LabelMode::Diet ? "DIET" : "supervised") +
         " d=" + std::to_string(c.dgp.d) + ", " + std::to_string(c.dgp.classes()) + " classes, " +
         std::to_string(c.train.steps) + " steps";
}

SweepOutcome run_sweep(const SweepPlan& plan, const SweepJob& job, const Ranks& ranks) {
  const std::string& out = job.out;
  // Every rank checks the same things and fails the same way before any run starts.
  for (const auto& r : plan.runs) (void)run_done(out, r);
  BackendOptions bo;
  bo.device = job.device;
  bo.rank = ranks.rank();
  (void)make_backend(bo);
  const auto t0 = std::chrono::steady_clock::now();
  SweepOutcome o;
  int trained_here = 0;
  try {
    std::error_code ec;
    std::filesystem::create_directories(out + "/runs", ec);
    if (ec) throw InputError(out + ": cannot create directory (" + ec.message() + ")");
    if (ranks.rank() == 0) write_file_atomic(out + "/sweep.toml", job.text);
    int skipped = 0;
    // Shard i's rank r trains every (count * ranks)-th population from i * ranks + r.
    const auto stride = static_cast<size_t>(job.shard.count) * static_cast<size_t>(ranks.size());
    for (size_t p = static_cast<size_t>(job.shard.index) * static_cast<size_t>(ranks.size()) +
                    static_cast<size_t>(ranks.rank());
         p < plan.populations.size(); p += stride) {
      std::vector<size_t> todo;
      for (const size_t i : plan.populations[p])
        if (!run_done(out, plan.runs[i])) todo.push_back(i);
      skipped += static_cast<int>(plan.populations[p].size() - todo.size());
      if (todo.empty()) continue;
      if (job.progress)
        std::fprintf(stderr, "xent sweep%s: %s\n",
                     ranks.size() > 1 ? (" rank " + std::to_string(ranks.rank())).c_str() : "",
                     describe_population(plan, p).c_str());
      // The population's runs agree on train.tf32 and train.threads (neither is a per-replica
      // key).
      bo.tf32 = plan.runs[todo.front()].config.train.tf32;
      bo.threads = plan.runs[todo.front()].config.train.threads;
      auto backend = make_backend(bo);
      run_population(*backend, plan, todo, out, ranks.rank(), job.progress);
      trained_here += static_cast<int>(todo.size());
      if (job.between_populations && !job.between_populations()) {
        o.stopped = true;
        o.trained = trained_here;
        return o;
      }
    }
    if (job.progress && skipped > 0)
      std::fprintf(stderr, "xent sweep: %d run%s already finished in %s, skipped\n", skipped,
                   skipped == 1 ? "" : "s", out.c_str());
  } catch (const std::exception& e) {
    if (ranks.size() > 1) ranks.abort_all(e.what());
    throw;
  }
  o.trained = ranks.sum(trained_here);
  if (ranks.rank() != 0) return o;
  o.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (job.shard.count > 1) {
    // Other shards may still be running: the table waits for the gather.
    nlohmann::ordered_json entry = invocation(job, ranks.size(), o.trained, o.wall_s);
    entry["shard"] = std::to_string(job.shard.index) + "/" + std::to_string(job.shard.count);
    std::error_code ec;
    std::filesystem::create_directories(out + "/shards", ec);
    write_file_atomic(shard_file(out, job.shard), entry.dump(2) + "\n");
    return o;
  }
  o.failed = write_results(out, plan);
  append_history(out, {invocation(job, ranks.size(), o.trained, o.wall_s)});
  return o;
}

std::pair<int, size_t> gather_sweep(const SweepPlan& plan, const SweepJob& job) {
  const std::string& out = job.out;
  for (const auto& r : plan.runs) (void)run_done(out, r);
  if (!std::filesystem::is_directory(out + "/runs"))
    throw InputError(out + "/runs: missing (no shard of this sweep has written here)");
  const int failed = write_results(out, plan);
  std::vector<nlohmann::ordered_json> entries;
  std::vector<std::filesystem::path> merged;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(out + "/shards", ec)) {
    const auto j =
        nlohmann::ordered_json::parse(read_file_or_empty(f.path().string()), nullptr, false);
    if (j.is_object()) entries.push_back(j);
    merged.push_back(f.path());
  }
  std::sort(entries.begin(), entries.end(), [](const auto& x, const auto& y) {
    return x.value("shard", "") < y.value("shard", "");
  });
  append_history(out, entries);
  // Only once sweep.json holds them, so that a crash in between loses no entry.
  for (const auto& f : merged) std::filesystem::remove(f, ec);
  return {failed, entries.size()};
}

}  // namespace xent
