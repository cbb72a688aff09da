#include "xent/run.h"

#include <cstdio>
#include <stdexcept>

#include "io/progress.h"
#include "xent/checkpoint.h"
#include "xent/error.h"

namespace xent {
namespace {

// The loss is read every kLossCheckEvery steps (xent/run.h): a diverged run stops a little
// later, never with a bad checkpoint. The state is a full download, checked only before it is
// evaluated or saved, which keeps a bad state out of every checkpoint.

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool due(int64_t s, int64_t every, int64_t last) {
  return (every > 0 && s % every == 0) || s == last;
}

}  // namespace

double metric(const MetricValues& v, const std::string& name) {
  for (const Metric& m : v)
    if (m.name == name) return m.value;
  throw std::out_of_range("no metric named " + name);
}

RunOutcome run(Trainable& t, MetricsSink& sink, const RunSpec& spec) {
  const Schedule sch = t.schedule();
  const int K = t.replicas();
  const auto t_call = std::chrono::steady_clock::now();
  const auto t0 = spec.started == std::chrono::steady_clock::time_point{} ? t_call : spec.started;
  const bool checkpoints = !spec.checkpoint.empty();
  const int64_t start = t.steps_done();
  int64_t ck_step = start;
  // A checkpoint at step 0 makes every started run resumable, however early it stops.
  if (checkpoints && start == 0) t.write_checkpoint(spec.checkpoint);

  const auto name = [&](int k) {
    return spec.replica_name
               ? spec.replica_name(k)
               : "replica " + std::to_string(k) + " (seed " + std::to_string(t.seed(k)) + ")";
  };
  const auto last_good = [&] {
    return checkpoints ? "; last good checkpoint: " + spec.checkpoint + " (step " +
                             std::to_string(ck_step) + ")"
                       : std::string();
  };
  const auto guard = [&](bool state) {
    const std::optional<Divergence> d = t.find_nonfinite(state);
    if (!d) return;
    throw DivergedError("step " + std::to_string(d->step) + ": " + name(d->replica) +
                        " diverged: non-finite " +
                        (d->tensor == "loss" ? std::string("loss (parameters still finite)")
                                             : "values in " + d->tensor) +
                        last_good() + "; try a smaller " + t.lr_option());
  };

  RunOutcome out;
  ProgressBar bar(sch.steps, spec.progress_bar);
  const auto evaluate = [&](bool write_rows) {
    out.metrics = t.evaluate();
    if (!write_rows) return true;
    const double wall = seconds_since(t0);
    std::vector<MetricsRow> rows;
    for (int k = 0; k < K; ++k)
      rows.push_back({t.steps_done(), k, t.seed(k), wall, out.metrics[static_cast<size_t>(k)]});
    sink.write(rows);
    if (spec.log_evaluations && !spec.progress_bar)
      std::fprintf(stderr, "step %lld: %s\n", static_cast<long long>(t.steps_done()),
                   t.describe(out.metrics[0]).c_str());
    return !spec.on_evaluation || spec.on_evaluation(t.steps_done(), out.metrics);
  };

  // The steady-state clock (RunOutcome::steady_s) runs over stretches of consecutive steps
  // after the first two, from a synchronisation before the stretch's first step to one after
  // its last, before an evaluation or a checkpoint (the last step always has one); never
  // inside a step.
  bool timing = false;
  std::chrono::steady_clock::time_point stretch;
  const auto end_stretch = [&] {
    if (!timing) return;
    t.synchronize();
    out.steady_s += seconds_since(stretch);
    timing = false;
  };
  const auto t_train = std::chrono::steady_clock::now();
  try {
    for (int64_t s = start + 1; s <= sch.steps; ++s) {
      if (s > start + 2 && !timing) {
        t.synchronize();
        stretch = std::chrono::steady_clock::now();
        timing = true;
      }
      t.step();
      if (timing) ++out.steady_steps;
      if (s % kLossCheckEvery == 0) {
        guard(false);
        const std::vector<double> losses = t.last_losses();
        std::vector<MetricsRow> rows;
        const double wall = seconds_since(t0);
        for (int k = 0; k < K; ++k)
          rows.push_back({s, k, t.seed(k), wall, {{"loss", losses[static_cast<size_t>(k)]}}});
        sink.write_losses(rows);
      }
      if (bar.due()) {
        if (!spec.progress_label.empty()) {
          bar.update(s, spec.progress_label);
        } else {
          char buf[32];
          std::snprintf(buf, sizeof buf, "loss %.4f", t.last_losses()[0]);
          bar.update(s, buf);
        }
      }
      const bool eval_due = due(s, sch.eval_every, sch.steps);
      const bool ck_due = checkpoints && due(s, sch.checkpoint_every, sch.steps);
      if (eval_due || ck_due) {
        end_stretch();
        guard(true);
      }
      bool go_on = true;
      if (eval_due) {
        go_on = evaluate(true);
        if (spec.progress_bar && spec.progress_label.empty())
          bar.update(s, t.describe(out.metrics[0]), true);
      }
      // After the evaluation, so that a crash in between repeats the evaluation on resume
      // rather than losing its rows.
      if (ck_due || (checkpoints && !go_on)) {
        t.write_checkpoint(spec.checkpoint);
        ck_step = s;
      }
      if (!go_on || (spec.between_steps && !spec.between_steps(s))) {
        out.stopped = s < sch.steps;
        break;
      }
    }
    // Resuming a run whose last checkpoint is its final step: only the summary is missing.
    if (start == sch.steps) evaluate(!spec.final_rows_written);
  } catch (const DivergedError& e) {
    // An evaluation's own check (non-finite features) does not know the checkpoint.
    if (!checkpoints || std::string(e.what()).find("last good checkpoint") != std::string::npos)
      throw;
    throw DivergedError(std::string(e.what()) + last_good());
  }
  bar.finish();
  out.steps_trained = t.steps_done() - start;
  out.train_s = seconds_since(t_train);
  out.wall_s = seconds_since(t_call);
  return out;
}

}  // namespace xent
