#include "xent/run.h"

#include <cstdio>
#include <optional>

#include "io/progress.h"
#include "xent/checkpoint.h"
#include "xent/error.h"

namespace xent {
namespace {

// The loss is K floats the step computed anyway, but reading it is a device-to-host copy (a
// sync on a GPU), so it is read every kLossCheckEvery steps, not every step: a diverged run
// stops a little later, never with a bad checkpoint. Parameters are a full download, checked
// only before they are evaluated or saved, which keeps a bad state out of every checkpoint.
constexpr int64_t kLossCheckEvery = 100;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

RunOutcome run(Trainer& t, MetricsSink& sink, const RunSpec& spec) {
  const Config& c = t.config();
  const int K = c.train.population;
  const auto t_call = std::chrono::steady_clock::now();
  const auto t0 = spec.started == std::chrono::steady_clock::time_point{} ? t_call : spec.started;
  const bool checkpoints = !spec.checkpoint.empty();
  const int64_t start = t.steps_done();
  int64_t ck_step = start;
  // A checkpoint at step 0 makes every started run resumable, however early it stops.
  if (checkpoints && start == 0) write_checkpoint(spec.checkpoint, t);

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
  const auto guard = [&](bool params) {
    const std::optional<Divergence> d = t.find_nonfinite(params);
    if (!d) return;
    throw DivergedError("step " + std::to_string(d->step) + ": " + name(d->replica) +
                        " diverged: non-finite " +
                        (d->tensor == "loss" ? std::string("loss (parameters still finite)")
                                             : "values in " + d->tensor) +
                        last_good() + "; try a smaller train.lr");
  };

  RunOutcome out;
  ProgressBar bar(c.train.steps, spec.progress_bar);
  const auto evaluate = [&](bool write_rows) {
    out.metrics = t.evaluate();
    if (!write_rows) return true;
    const double wall = seconds_since(t0);
    std::vector<MetricsRow> rows;
    for (int k = 0; k < K; ++k)
      rows.push_back({t.steps_done(), k, t.seed(k), wall, out.metrics[k]});
    sink.write(rows);
    const ReplicaMetrics& m = out.metrics[0];
    if (spec.log_evaluations && !spec.progress_bar)
      std::fprintf(stderr, "step %lld: r2_a %.4f  acc %.4f  loss %.4f\n",
                   static_cast<long long>(t.steps_done()), m.r2_a, m.acc, m.loss);
    return !spec.on_evaluation || spec.on_evaluation(t.steps_done(), out.metrics);
  };

  const auto t_train = std::chrono::steady_clock::now();
  try {
    for (int64_t s = start + 1; s <= c.train.steps; ++s) {
      t.step();
      if (s % kLossCheckEvery == 0) guard(false);
      if (bar.due()) {
        if (!spec.progress_label.empty()) {
          bar.update(s, spec.progress_label);
        } else {
          char buf[64];
          std::snprintf(buf, sizeof buf, "loss %.4f", static_cast<double>(t.last_loss()[0]));
          bar.update(s, buf);
        }
      }
      const bool eval_due =
          (c.train.eval_every > 0 && s % c.train.eval_every == 0) || s == c.train.steps;
      const bool ck_due =
          checkpoints && ((c.train.checkpoint_every > 0 && s % c.train.checkpoint_every == 0) ||
                          s == c.train.steps);
      if (eval_due || ck_due) guard(true);
      bool go_on = true;
      if (eval_due) {
        go_on = evaluate(true);
        if (spec.progress_bar && spec.progress_label.empty()) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "loss %.4f  r2_a %.4f", out.metrics[0].loss,
                        out.metrics[0].r2_a);
          bar.update(s, buf, true);
        }
      }
      // After the evaluation, so that a crash in between repeats the evaluation on resume
      // rather than losing its rows.
      if (ck_due || (checkpoints && !go_on)) {
        write_checkpoint(spec.checkpoint, t);
        ck_step = s;
      }
      if (!go_on) {
        out.stopped = s < c.train.steps;
        break;
      }
    }
    // Resuming a run whose last checkpoint is its final step: only the summary is missing.
    if (start == c.train.steps) evaluate(!spec.final_rows_written);
  } catch (const DivergedError& e) {
    // The evaluation's own check (non-finite features) does not know the checkpoint.
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
