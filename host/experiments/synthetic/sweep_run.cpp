// Training one population of a sweep: the run library's loop, each replica's rows kept in
// memory until the population ends and its runs' files are written.
#include <chrono>
#include <cstdio>

#include "engine/metrics_files.h"
#include "experiments/synthetic/sweep.h"
#include "io/progress.h"
#include "xent/error.h"
#include "xent/run.h"
#include "xent/trainer_run.h"

namespace xent {

bool run_population(Backend& b, const SweepPlan& plan, const std::vector<size_t>& runs,
                    const std::string& out, int rank, bool progress) {
  std::vector<Config> configs;
  for (const size_t i : runs) configs.push_back(plan.runs[i].config);
  const Config& c = configs.front();
  const int K = static_cast<int>(runs.size());
  std::vector<RunResult> results(runs.size());
  const auto t0 = std::chrono::steady_clock::now();
  try {
    Trainer t(b, configs);
    MemorySink rows;
    RunSpec spec;
    spec.started = t0;
    spec.progress_bar = progress && stderr_is_terminal();
    spec.progress_label = "K=" + std::to_string(K);
    spec.replica_name = [&](int k) { return "run " + plan.runs[runs[static_cast<size_t>(k)]].id; };
    TrainerRun job(t);
    const RunOutcome o = run(job, rows, spec);
    // Each run's metrics.jsonl is its own: its rows say replica 0.
    for (MetricsRow row : rows.rows) {
      RunResult& r = results[static_cast<size_t>(row.replica)];
      row.replica = 0;
      r.metrics_jsonl += metrics_row_json(row);
    }
    for (size_t k = 0; k < runs.size(); ++k) {
      results[k].metrics = replica_metrics(o.metrics[k]);
      results[k].ok = true;
    }
  } catch (const DeviceError& e) {
    for (auto& r : results) r.error = std::string("device error: ") + e.what();
  } catch (const std::exception& e) {
    for (auto& r : results) r.error = e.what();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t k = 0; k < runs.size(); ++k) {
    results[k].wall_s = wall;
    results[k].population = K;
    results[k].rank = rank;
    results[k].backend = b.name();
    write_run(out, plan.runs[runs[k]], results[k]);
  }
  if (progress)
    std::fprintf(stderr, "  %d run%s, %lld steps: %s in %.1f s\n", K, K == 1 ? "" : "s",
                 static_cast<long long>(c.train.steps), results[0].ok ? "done" : "FAILED", wall);
  if (progress && !results[0].ok) std::fprintf(stderr, "  %s\n", results[0].error.c_str());
  return results[0].ok;
}

}  // namespace xent
