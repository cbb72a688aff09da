// xent dislib: the paper's DisLib experiment (Table 4) on a rendered dataset. It trains
// train.repeats classifiers at once (or none, for model.kind = pixels), stops each early on its
// validation accuracy, probes every repeat's representation, and writes DIR/config.toml,
// DIR/metrics.jsonl, DIR/checkpoint.xck, DIR/results.csv and DIR/summary.json; --resume DIR
// continues such a run. --render FILE draws a contact sheet of the dataset's renderer.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/run_directory.h"
#include "experiments/dislib_config.h"
#include "experiments/dislib_train.h"
#include "io/progress.h"
#include "xent/dsprites.h"
#include "xent/error.h"
#include "xent/run.h"
#include "xent/shapes3d.h"

namespace xent::cli {
namespace {

using namespace xent::dislib;

struct DislibArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string dataset, model;
  int repeats = 0;
  int64_t max_epochs = 0;
  std::string render;
  std::string device = "auto";
  std::string out, resume;
  bool force = false;
  bool quiet = false;

  // The flags that stand for keys, as --set strings, before the explicit --set ones.
  std::vector<std::string> all_sets() const {
    std::vector<std::string> s;
    if (!dataset.empty()) s.push_back("data.name=" + dataset);
    if (!model.empty()) s.push_back("model.kind=" + model);
    if (repeats != 0) s.push_back("train.repeats=" + std::to_string(repeats));
    if (max_epochs != 0) s.push_back("train.max_epochs=" + std::to_string(max_epochs));
    s.insert(s.end(), sets.begin(), sets.end());
    return s;
  }
};

// Rows: every shape at every scale; columns: ten orientations at the centre, then the top-left
// and bottom-right positions.
void dsprites_sheet(const std::string& path) {
  using namespace xent::dsprites;
  std::vector<int64_t> images;
  for (int shape = 0; shape < kShapes; ++shape)
    for (int scale = 0; scale < kScales; ++scale) {
      for (int o = 0; o < 40; o += 4) images.push_back(image_of({shape, scale, o, 15, 15}));
      images.push_back(image_of({shape, scale, 0, 0, 0}));
      images.push_back(image_of({shape, scale, 0, kPositions - 1, kPositions - 1}));
    }
  write_contact_sheet(path, render_masks(), images, 12);
}

void render_sheet(const Dataset& d, const std::string& path) {
  switch (d.id) {
    case DatasetId::Dsprites:
      return dsprites_sheet(path);
    case DatasetId::Shapes3d:
      return shapes3d::write_contact_sheet(path);
  }
  throw InputError("--render: no contact sheet for " + d.name);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Mean and sample standard deviation (n - 1; 0 for one repeat) over the repeats.
std::pair<double, double> mean_std(const std::vector<double>& v) {
  double s = 0, ss = 0;
  for (double x : v) s += x;
  const double mean = s / static_cast<double>(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0};
}

void print_table(const RunConfig& c, const Dataset& d, const std::vector<ProbeScores>& r) {
  std::printf(
      "\n%s, %s, %d repeats: Pearson r of a linear probe (no intercept) to each z-scored "
      "factor, test split, mean +- std\n",
      d.name.c_str(), model_name(c.model).c_str(), c.repeats);
  const std::vector<double>* paper = c.model == ModelKind::Mlp      ? &d.paper_mlp
                                     : c.model == ModelKind::Pixels ? &d.paper_pixels
                                                                    : nullptr;
  std::printf("%-18s %15s %8s\n", "factor", "xent", "paper");
  for (size_t k = 0; k < d.targets.size(); ++k) {
    std::vector<double> v;
    for (const ProbeScores& s : r) v.push_back(s[k]);
    const auto [mean, sd] = mean_std(v);
    char p[16] = "-";
    if (paper && !paper->empty() && (*paper)[k] >= 0)
      std::snprintf(p, sizeof p, "%.2f", (*paper)[k]);
    std::printf("%-18s %7.3f +- %.3f %8s\n", d.targets[k].c_str(), mean, sd, p);
  }
}

std::string default_out(const RunConfig& c) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/dislib-" + c.dataset + "-" + model_name(c.model) + "-" + stamp;
}

void run_dislib(const DislibArgs& a) {
  std::string out = a.out;
  RunConfig c;
  const bool resuming = !a.resume.empty();
  if (resuming) {
    // Everything is checked before DIR is touched: a refused resume leaves the run as it was.
    if (!a.config.empty() || !out.empty())
      throw InputError("--resume " + a.resume +
                       ": the run keeps its config.toml and outputs; --config and --out cannot "
                       "be given with it");
    out = a.resume;
    const std::string cfg = RunDirectory::resumable(out, "xent dislib");
    const RunConfig before = load_run_config(cfg, {});
    c = load_run_config(cfg, a.all_sets());
    check_resume(before, c);
    if (c.model == ModelKind::Pixels)
      throw InputError("--resume " + out + ": a pixels run trains nothing; run it again instead");
  } else {
    c = load_run_config(a.config, a.all_sets());
  }
  const Dataset& d = dataset(c.dataset);
  BackendOptions bo;
  bo.device = a.device;
  bo.threads = c.threads;
  auto backend = make_backend(bo);
  if (out.empty()) out = default_out(c);
  std::optional<RunDirectory> dir;
  if (!resuming) dir = RunDirectory::fresh(out, a.force, to_toml(c));

  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<Classifier> model;
  std::unique_ptr<ClassifierRun> job;
  RunOutcome r;
  if (c.model != ModelKind::Pixels) {
    model = std::make_unique<Classifier>(*backend, c);
    job = std::make_unique<ClassifierRun>(*model, c);
    RunSpec spec;
    spec.checkpoint = out + "/checkpoint.xck";
    spec.started = t0;
    spec.progress_bar = !a.quiet && stderr_is_terminal();
    spec.log_evaluations = !a.quiet;
    spec.replica_name = [&c](int k) {
      return "repeat " + std::to_string(k) + " (seed " +
             std::to_string(c.seed + static_cast<uint64_t>(k)) + ")";
    };
    spec.on_evaluation = [&job](int64_t, const std::vector<MetricValues>&) {
      return job->running();
    };
    if (resuming) {
      job->restore(spec.checkpoint);
      dir = RunDirectory::resume(out, to_toml(c), model->steps_done());
      spec.final_rows_written = dir->final_rows_written();
      if (!a.quiet)
        std::fprintf(stderr, "xent: resuming at step %lld\n",
                     static_cast<long long>(model->steps_done()));
    }
    const std::unique_ptr<JsonlSink> metrics = dir->sink();
    if (!a.quiet)
      std::fprintf(stderr,
                   "xent: %s, %s classifier, %d repeats, up to %lld steps of batch %d (%lld per "
                   "epoch) on %s -> %s\n",
                   d.name.c_str(), model_name(c.model).c_str(), c.repeats,
                   static_cast<long long>(job->schedule().steps), c.batch,
                   static_cast<long long>(model->steps_per_epoch()), backend->name().c_str(),
                   out.c_str());
    // A resumed run whose repeats had all stopped has nothing left to train.
    if (job->running()) r = run(*job, *metrics, spec);
    model->restore_best();
  }

  if (!a.quiet) std::fprintf(stderr, "xent: probing %d repeats\n", c.repeats);
  const auto t_probe = std::chrono::steady_clock::now();
  std::vector<ProbeScores> scores;
  for (int k = 0; k < c.repeats; ++k) {
    const Split split = model ? model->splits()[static_cast<size_t>(k)]
                              : make_split(d.images, c.split_seed + static_cast<uint64_t>(k));
    const ProbeImages im = probe_images(c, split);
    if (model)
      scores.push_back(probe_factors(
          d, im.fit, im.score, c.width, c.batch,
          [&](const int32_t* images, int64_t n, float* f) { model->features(k, images, n, f); }));
    else
      scores.push_back(probe_pixels(*backend, d, im.fit, im.score));
  }
  const double probe_s = seconds_since(t_probe);
  const double wall = seconds_since(t0);

  std::string csv = "repeat,seed,split_seed,target,pearson_r\n";
  Summary summary;
  summary.run = {{"command", "dislib"},
                 {"experiment", "dislib"},
                 {"preset", ""},
                 {"dataset", d.name},
                 {"model", model_name(c.model)}};
  summary.config_toml = to_toml(c);
  summary.backend = backend->name();
  for (int k = 0; k < c.repeats; ++k) {
    const uint64_t seed = c.seed + static_cast<uint64_t>(k);
    const uint64_t split = c.split_seed + static_cast<uint64_t>(k);
    nlohmann::ordered_json rj = {{"replica", k}, {"seed", seed}, {"split_seed", split}};
    if (job) {
      const int64_t step = job->best_step()[static_cast<size_t>(k)];
      rj["best_val_acc"] = job->best_acc()[static_cast<size_t>(k)];
      rj["best_step"] = step;
      rj["best_epoch"] = static_cast<double>(step) / static_cast<double>(model->steps_per_epoch());
      rj["stopped_early"] = static_cast<bool>(job->stopped()[static_cast<size_t>(k)]);
    }
    nlohmann::ordered_json pr;
    for (size_t t = 0; t < d.targets.size(); ++t) {
      pr[d.targets[t]] = scores[static_cast<size_t>(k)][t];
      char line[160];
      std::snprintf(line, sizeof line, "%d,%llu,%llu,%s,%.17g\n", k,
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(split),
                    d.targets[t].c_str(), scores[static_cast<size_t>(k)][t]);
      csv += line;
    }
    rj["pearson_r"] = pr;
    summary.replicas.push_back(rj);
  }
  nlohmann::ordered_json mean = nlohmann::ordered_json::object(), sd = mean;
  for (size_t t = 0; t < d.targets.size(); ++t) {
    std::vector<double> v;
    for (const ProbeScores& s : scores) v.push_back(s[t]);
    const auto [m, s] = mean_std(v);
    mean[d.targets[t]] = m;
    sd[d.targets[t]] = s;
  }
  summary.results = {{"targets", d.targets}, {"pearson_r_mean", mean}, {"pearson_r_std", sd}};
  if (job) {
    summary.steps = model->steps_done();
    summary.results["epochs"] =
        static_cast<double>(summary.steps) / static_cast<double>(model->steps_per_epoch());
    summary.timings = run_timings(r, wall);
  } else {
    summary.timings = {{"wall_s", wall}};
  }
  summary.timings["probe_s"] = probe_s;
  dir->write("results.csv", csv);
  dir->write_summary(summary);
  if (!a.quiet) {
    print_table(c, d, scores);
    std::printf("\n%.1f s in all (%.1f s probing). Results: %s/summary.json, %s/results.csv\n",
                wall, probe_s, out.c_str(), out.c_str());
  }
}

}  // namespace

void add_dislib(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "dislib",
      "The paper's DisLib experiment (Table 4) on a procedurally rendered dSprites or 3D "
      "Shapes: train.repeats classifiers of the dataset's label (model.kind linear or mlp) "
      "trained at once, each stopped once its validation accuracy passes train.stop_acc, then a "
      "linear probe from each representation (or, for pixels, from the images) to every "
      "factor, reported as Pearson r, mean +- std over the repeats.");
  auto a = std::make_shared<DislibArgs>();
  cmd->add_option("-c,--config", a->config, "TOML config file (keys below)")->type_name("FILE");
  cmd->add_option("--set", a->sets, "Override a key, e.g. --set train.lr=3e-4 (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--dataset", a->dataset, "Same as --set data.name=NAME (dsprites, shapes3d)");
  cmd->add_option("--model", a->model, "Same as --set model.kind=KIND (pixels, linear, mlp)");
  cmd->add_option("--repeats", a->repeats, "Same as --set train.repeats=N");
  cmd->add_option("--max-epochs", a->max_epochs, "Same as --set train.max_epochs=N");
  cmd->add_option("--render", a->render,
                  "Only write a PNG contact sheet of the dataset's renderer to FILE")
      ->type_name("FILE");
  cmd->add_option("--device", a->device, "auto, cpu or cuda (auto: cuda when present)")
      ->capture_default_str();
  cmd->add_option("--out", a->out,
                  "Output directory (default: runs/dislib-<dataset>-<model>-<time>)");
  cmd->add_option("--resume", a->resume,
                  "Continue the run in DIR from DIR/checkpoint.xck (extend it with "
                  "--max-epochs N); on the CPU it ends bit for bit where an uninterrupted run "
                  "would")
      ->type_name("DIR");
  cmd->add_flag("--force", a->force, "Reuse an --out directory that already holds files");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress or summary output");
  cmd->footer(
      "\nKeys (defaults: the reference's protocol, klindtlab/csi dislib/main.py):\n" +
      run_config_help() +
      "\nThe probe: least squares without intercept from the representation (the last hidden "
      "layer, or the pixels) to each z-scored factor, fitted on probe.fit validation images and "
      "scored by Pearson r on probe.score test images of the repeat's own split. Each repeat's "
      "representation is the one of its best validation accuracy.\n\nExamples:\n"
      "  xent dislib --dataset dsprites --model mlp --out runs/dsprites-mlp\n"
      "  xent dislib --dataset dsprites --model pixels --out runs/dsprites-pixels\n"
      "  xent dislib --dataset shapes3d --render sheet.png\n"
      "\nExit status: 0 finished; 2 bad input; 3 the run diverged; 1 anything else.\n");
  cmd->callback([a] {
    if (!a->render.empty()) {
      const RunConfig c = load_run_config(a->config, a->all_sets());
      render_sheet(dataset(c.dataset), a->render);
      if (!a->quiet) std::fprintf(stderr, "xent: wrote %s\n", a->render.c_str());
      return;
    }
    run_dislib(*a);
  });
}

}  // namespace xent::cli
