#include "experiments/dislib/run.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>

#include "io/progress.h"
#include "xent/error.h"

namespace xent::dislib {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The summary and results.csv of the repeats' scores.
void write_results(const RunConfig& c, const Dataset& d, const ClassifierRun* job,
                   int64_t steps_per_epoch, Outcome& o) {
  std::string& csv = o.results_csv;
  csv = "repeat,seed,split_seed,target,pearson_r\n";
  Summary& s = o.summary;
  s.run = {{"command", "dislib"},
           {"experiment", "dislib"},
           {"preset", ""},
           {"dataset", d.name},
           {"model", model_name(c.model)}};
  s.config_toml = to_toml(c);
  for (int k = 0; k < c.repeats; ++k) {
    const auto kk = static_cast<size_t>(k);
    const uint64_t seed = c.seed + static_cast<uint64_t>(k);
    const uint64_t split = c.split_seed + static_cast<uint64_t>(k);
    nlohmann::ordered_json rj = {{"replica", k}, {"seed", seed}, {"split_seed", split}};
    if (job) {
      const int64_t step = job->best_step()[kk];
      rj["best_val_acc"] = job->best_acc()[kk];
      rj["best_step"] = step;
      rj["best_epoch"] = static_cast<double>(step) / static_cast<double>(steps_per_epoch);
      rj["stopped_early"] = static_cast<bool>(job->stopped()[kk]);
    }
    nlohmann::ordered_json pr;
    for (size_t t = 0; t < d.targets.size(); ++t) {
      pr[d.targets[t]] = o.scores[kk][t];
      char line[160];
      std::snprintf(line, sizeof line, "%d,%llu,%llu,%s,%.17g\n", k,
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(split),
                    d.targets[t].c_str(), o.scores[kk][t]);
      csv += line;
    }
    rj["pearson_r"] = pr;
    s.replicas.push_back(rj);
  }
  nlohmann::ordered_json mean = nlohmann::ordered_json::object(), sd = mean;
  for (size_t t = 0; t < d.targets.size(); ++t) {
    std::vector<double> v;
    for (const ProbeScores& r : o.scores) v.push_back(r[t]);
    const auto [m, e] = mean_std(v);
    mean[d.targets[t]] = m;
    sd[d.targets[t]] = e;
  }
  s.results = {{"targets", d.targets}, {"pearson_r_mean", mean}, {"pearson_r_std", sd}};
  if (job)
    s.results["epochs"] = static_cast<double>(s.steps) / static_cast<double>(steps_per_epoch);
}

}  // namespace

std::pair<double, double> mean_std(const std::vector<double>& v) {
  double s = 0, ss = 0;
  for (double x : v) s += x;
  const double mean = s / static_cast<double>(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0};
}

RunConfig resumed_config(const std::string& dir, const std::vector<std::string>& sets) {
  const std::string cfg = RunDirectory::resumable(dir, "xent dislib");
  const RunConfig before = load_run_config(cfg, {});
  RunConfig c = load_run_config(cfg, sets);
  check_resume(before, c);
  if (c.model == ModelKind::Pixels)
    throw InputError("--resume " + dir + ": a pixels run trains nothing; run it again instead");
  return c;
}

Outcome run(Backend& b, const Job& job) {
  const RunConfig& c = job.config;
  const Dataset& d = dataset(c.dataset);
  if (job.resume && job.out.empty()) throw InputError("resume: no run directory given");
  std::optional<RunDirectory> dir;
  if (!job.resume && !job.out.empty()) dir = RunDirectory::fresh(job.out, job.force, to_toml(c));

  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<ClassifierTrainer> model;
  std::unique_ptr<ClassifierRun> trainer;
  RunOutcome r;
  if (c.model != ModelKind::Pixels) {
    model = std::make_unique<ClassifierTrainer>(b, c);
    trainer = std::make_unique<ClassifierRun>(*model, c);
    RunSpec spec;
    spec.started = t0;
    spec.progress_bar = !job.quiet && stderr_is_terminal();
    spec.log_evaluations = !job.quiet;
    spec.replica_name = [&c](int k) {
      return "repeat " + std::to_string(k) + " (seed " +
             std::to_string(c.seed + static_cast<uint64_t>(k)) + ")";
    };
    spec.on_evaluation = [&trainer](int64_t, const std::vector<MetricValues>&) {
      return trainer->running();
    };
    if (job.resume) {
      trainer->restore(job.out + "/checkpoint.xck");
      dir = RunDirectory::resume(job.out, to_toml(c), model->steps_done());
      spec.final_rows_written = dir->final_rows_written();
      if (!job.quiet)
        std::fprintf(stderr, "xent: resuming at step %lld\n",
                     static_cast<long long>(model->steps_done()));
    }
    if (dir) spec.checkpoint = dir->checkpoint();
    bool interrupted = false;
    if (job.between_steps)
      spec.between_steps = [&](int64_t step) {
        if (job.between_steps(step)) return true;
        interrupted = true;
        return false;
      };
    const std::unique_ptr<JsonlSink> files = dir ? dir->sink() : nullptr;
    TeeSink sink(files.get(), job.also);
    if (!job.quiet)
      std::fprintf(stderr,
                   "xent: %s, %s classifier, %d repeats, up to %lld steps of batch %d (%lld per "
                   "epoch) on %s%s%s\n",
                   d.name.c_str(), model_name(c.model).c_str(), c.repeats,
                   static_cast<long long>(trainer->schedule().steps), c.batch,
                   static_cast<long long>(model->steps_per_epoch()), b.name().c_str(),
                   dir ? " -> " : "", dir ? dir->dir().c_str() : "");
    // A resumed run whose repeats had all stopped has nothing left to train.
    if (trainer->running()) r = xent::run(*trainer, sink, spec);
    if (interrupted) {
      Outcome o;
      o.interrupted = true;
      return o;
    }
    model->restore_best();
  }

  if (!job.quiet) std::fprintf(stderr, "xent: probing %d repeats\n", c.repeats);
  const auto t_probe = std::chrono::steady_clock::now();
  Outcome o;
  for (int k = 0; k < c.repeats; ++k) {
    const Split split = model ? model->splits()[static_cast<size_t>(k)]
                              : make_split(d.images, c.split_seed + static_cast<uint64_t>(k));
    const ProbeImages im = probe_images(c, split);
    if (model)
      o.scores.push_back(correlate_factors(
          d, im.fit, im.score, c.width, c.batch,
          [&](const int32_t* images, int64_t n, float* f) { model->features(k, images, n, f); }));
    else
      o.scores.push_back(correlate_pixels(b, d, im.fit, im.score));
  }
  const double probe_s = seconds_since(t_probe);
  const double wall = seconds_since(t0);

  o.summary.backend = b.name();
  if (model) o.summary.steps = model->steps_done();
  write_results(c, d, trainer.get(), model ? model->steps_per_epoch() : 1, o);
  o.summary.timings = model ? run_timings(r, wall) : nlohmann::ordered_json{{"wall_s", wall}};
  o.summary.timings["probe_s"] = probe_s;
  if (dir) {
    dir->write("results.csv", o.results_csv);
    dir->write_summary(o.summary);
  }
  return o;
}

}  // namespace xent::dislib
