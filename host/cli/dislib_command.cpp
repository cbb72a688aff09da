// xent dislib: the paper's DisLib experiment (Table 4) on a rendered dataset. It trains
// train.repeats classifiers at once (or none, for model.kind = pixels), stops each early on its
// validation accuracy, probes every repeat's representation, and writes DIR/config.toml,
// DIR/metrics.jsonl, DIR/checkpoint.xck, DIR/results.csv and DIR/summary.json; --resume DIR
// continues such a run. --render FILE draws a contact sheet of the dataset's renderer.
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "experiments/dislib/config.h"
#include "experiments/dislib/contact_sheet.h"
#include "experiments/dislib/run.h"
#include "xent/error.h"

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
  Job job;
  job.out = a.out;
  job.resume = !a.resume.empty();
  job.force = a.force;
  job.quiet = a.quiet;
  if (job.resume) {
    // Everything is checked before DIR is touched: a refused resume leaves the run as it was.
    if (!a.config.empty() || !a.out.empty())
      throw InputError("--resume " + a.resume +
                       ": the run keeps its config.toml and outputs; --config and --out cannot "
                       "be given with it");
    job.out = a.resume;
    job.config = resumed_config(a.resume, a.all_sets());
  } else {
    job.config = load_run_config(a.config, a.all_sets());
  }
  const RunConfig& c = job.config;
  BackendOptions bo;
  bo.device = a.device;
  bo.threads = c.threads;
  auto backend = make_backend(bo);
  if (job.out.empty()) job.out = default_out(c);
  const Outcome o = run(*backend, job);
  if (!a.quiet) {
    print_table(c, dataset(c.dataset), o.scores);
    std::printf("\n%.1f s in all (%.1f s probing). Results: %s/summary.json, %s/results.csv\n",
                o.summary.timings["wall_s"].get<double>(),
                o.summary.timings["probe_s"].get<double>(), job.out.c_str(), job.out.c_str());
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
      BackendOptions bo;
      bo.device = a->device;
      bo.threads = c.threads;
      write_contact_sheet(*make_backend(bo), dataset(c.dataset), a->render);
      if (!a->quiet) std::fprintf(stderr, "xent: wrote %s\n", a->render.c_str());
      return;
    }
    run_dislib(*a);
  });
}

}  // namespace xent::cli
