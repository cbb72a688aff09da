// Training one population of a sweep.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "io/progress.h"
#include "experiments/sweep.h"
#include "xent/error.h"

namespace xent {
namespace {

// As in `xent train`: the loss is read every kLossCheckEvery steps (a device-to-host copy), the
// parameters before every evaluation.
constexpr int64_t kLossCheckEvery = 100;

std::string metrics_row(int64_t step, uint64_t seed, double wall, const ReplicaMetrics& m) {
  const nlohmann::ordered_json j = {{"step", step},         {"replica", 0},   {"seed", seed},
                                    {"wall_s", wall},       {"r2_a", m.r2_a}, {"r2_o", m.r2_o},
                                    {"mae_o", m.mae_o},     {"r2_w", m.r2_w}, {"r2_o_w", m.r2_o_w},
                                    {"mae_o_w", m.mae_o_w}, {"mcc", m.mcc},   {"acc", m.acc},
                                    {"loss", m.loss}};
  return j.dump() + "\n";
}

}  // namespace

bool run_population(Backend& b, const SweepPlan& plan, const std::vector<size_t>& runs,
                    const std::string& out, int rank, bool progress) {
  std::vector<Config> configs;
  for (const size_t i : runs) configs.push_back(plan.runs[i].config);
  const Config& c = configs.front();
  const int K = static_cast<int>(runs.size());
  std::vector<RunResult> results(runs.size());
  const auto t0 = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  const bool tty = progress && stderr_is_terminal();
  try {
    Trainer t(b, configs);
    ProgressBar bar(c.train.steps, tty);
    const auto guard = [&](bool params) {
      if (const auto d = t.find_nonfinite(params))
        throw DivergedError("step " + std::to_string(d->step) + ": run " +
                            plan.runs[runs[static_cast<size_t>(d->replica)]].id +
                            " diverged: non-finite " + d->tensor + " (try a smaller train.lr)");
    };
    for (int64_t s = 1; s <= c.train.steps; ++s) {
      t.step();
      if (s % kLossCheckEvery == 0) guard(false);
      if (bar.due()) bar.update(s, "K=" + std::to_string(K));
      if ((c.train.eval_every > 0 && s % c.train.eval_every == 0) || s == c.train.steps) {
        guard(true);
        const auto ms = t.evaluate();
        const double wall = seconds();
        for (size_t k = 0; k < runs.size(); ++k) {
          results[k].metrics = ms[k];
          results[k].metrics_jsonl += metrics_row(s, t.seed(static_cast<int>(k)), wall, ms[k]);
        }
      }
    }
    bar.finish();
    for (auto& r : results) r.ok = true;
  } catch (const DeviceError& e) {
    for (auto& r : results) r.error = std::string("device error: ") + e.what();
  } catch (const std::exception& e) {
    for (auto& r : results) r.error = e.what();
  }
  const double wall = seconds();
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
