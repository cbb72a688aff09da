// xent train: trains K replicas of the paper's synthetic experiment and writes
// DIR/config.toml, DIR/metrics.jsonl, DIR/checkpoint.xck and DIR/summary.json; --resume DIR
// continues such a run from its checkpoint.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "engine/run_directory.h"
#include "experiments/synthetic/summary.h"
#include "io/progress.h"
#include "xent/checkpoint.h"
#include "xent/error.h"
#include "xent/run.h"
#include "xent/trainer.h"
#include "xent/trainer_run.h"

namespace xent::cli {
namespace {

std::string default_out(const std::string& preset) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + (preset.empty() ? std::string("train") : preset) + "-" + stamp;
}

void print_summary(const std::vector<ReplicaMetrics>& ms, const Trainer& t, double wall,
                   int64_t steps, const std::string& out) {
  std::printf("\n%-8s %-6s %8s %8s %8s %8s %8s %8s %8s\n", "replica", "seed", "r2_a", "r2_o",
              "mae_o", "mcc", "r2_w", "acc", "loss");
  for (size_t k = 0; k < ms.size(); ++k) {
    const auto& m = ms[k];
    std::printf("%-8zu %-6llu %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f\n", k,
                static_cast<unsigned long long>(t.seed(static_cast<int>(k))), m.r2_a, m.r2_o,
                m.mae_o, m.mcc, m.r2_w, m.acc, m.loss);
  }
  std::printf("\n%lld steps in %.1f s (%.1f steps/s). Results: %s/summary.json\n",
              static_cast<long long>(steps), wall, static_cast<double>(steps) / wall, out.c_str());
}

struct TrainArgs {
  RunOptions o;
  std::string device = "auto";
  std::string out;
  std::string resume;
  bool force = false;
  bool quiet = false;
  bool no_checkpoint = false;
};

void run_train(const TrainArgs& a) {
  const RunOptions& o = a.o;
  Config c;
  std::string out = a.out;
  Checkpoint ck;
  std::string ck_path;
  if (!a.resume.empty()) {
    // Everything is checked before DIR is touched: a refused resume leaves the run as it was.
    if (!o.preset.empty() || !o.config.empty() || !out.empty())
      throw InputError("--resume " + a.resume + ": the run keeps its config.toml and outputs; " +
                       "--preset, --config and --out cannot be given with it");
    out = a.resume;
    const std::string cfg = RunDirectory::resumable(out, "xent train");
    const Config before = load_config("", cfg, {});
    c = load_config("", cfg, o.all_sets());
    check_resume_config(before, c);
    ck_path = out + "/checkpoint.xck";
    ck = read_checkpoint(ck_path);
    check_checkpoint(ck, c, ck_path);
    if (ck.step > c.train.steps)
      throw InputError("train.steps=" + std::to_string(c.train.steps) + ": below the step of " +
                       ck_path + " (" + std::to_string(ck.step) + ")");
  } else {
    c = o.load();
  }
  BackendOptions bo;
  bo.device = a.device;
  bo.tf32 = c.train.tf32;
  bo.threads = c.train.threads;
  auto backend = make_backend(bo);
  if (c.train.tf32 && backend->name().rfind("cpu", 0) == 0 && !a.quiet)
    std::fprintf(stderr,
                 "xent: train.tf32 applies to the CUDA backend; the CPU computes in FP32\n");
  if (out.empty()) out = default_out(o.preset.empty() ? std::string("default") : o.preset);

  std::optional<RunDirectory> dir;
  if (a.resume.empty()) dir = RunDirectory::fresh(out, a.force, to_toml(c));

  const bool tty = !a.quiet && stderr_is_terminal();
  if (!a.quiet)
    std::fprintf(stderr, "xent: %s, d=%d, %lld classes, K=%d, %lld steps of batch %d on %s -> %s\n",
                 c.dgp.labels == LabelMode::Diet ? "DIET" : "supervised", c.dgp.d,
                 static_cast<long long>(c.dgp.classes()), c.train.population,
                 static_cast<long long>(c.train.steps), c.train.batch, backend->name().c_str(),
                 out.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  Trainer trainer(*backend, c);
  if (!a.resume.empty()) {
    restore_checkpoint(trainer, ck, ck_path);
    ck.tensors = {};  // a host copy of the whole state: not worth keeping for the run
    dir = RunDirectory::resume(out, to_toml(c), ck.step);
    if (!a.quiet)
      std::fprintf(stderr, "xent: resuming at step %lld\n", static_cast<long long>(ck.step));
  }
  RunSpec spec;
  spec.checkpoint = a.no_checkpoint ? std::string() : dir->checkpoint();
  spec.started = t0;
  spec.progress_bar = tty;
  spec.log_evaluations = !a.quiet;
  spec.final_rows_written = dir->final_rows_written();
  TrainerRun job(trainer);
  const RunOutcome r = run(job, *dir->sink(), spec);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<uint64_t> seeds;
  for (int k = 0; k < c.train.population; ++k) seeds.push_back(trainer.seed(k));
  dir->write_summary(synthetic_summary("train", o.preset, backend->name(), c, trainer.steps_done(),
                                       seeds, r.metrics, run_timings(r, wall)));
  if (!a.quiet) {
    std::vector<ReplicaMetrics> ms;
    for (const MetricValues& v : r.metrics) ms.push_back(replica_metrics(v));
    print_summary(ms, trainer, wall, r.steps_trained, out);
  }
}

}  // namespace

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train",
      "Train K replicas of the paper's synthetic experiment (a cross-entropy classifier on "
      "latents mixed by an invertible MLP) and probe how well its features recover the "
      "latents.\nWith no options it runs the built-in default: the supervised base setting, "
      "shortened to about a minute on a CPU.");
  auto a = std::make_shared<TrainArgs>();
  a->o.add_to(*cmd);
  a->o.add_length_to(*cmd);
  cmd->add_option("--device", a->device, "auto, cpu or cuda (auto: cuda when present)")
      ->capture_default_str();
  cmd->add_option("--out", a->out,
                  "Output directory for config.toml, metrics.jsonl, loss.jsonl (the training "
                  "loss every 100 steps), checkpoint.xck and summary.json (default: "
                  "runs/<preset>-<time>)");
  cmd->add_option("--resume", a->resume,
                  "Continue the run in DIR from DIR/checkpoint.xck to train.steps (extend it "
                  "with --set train.steps=N); on the CPU it ends bit for bit where an "
                  "uninterrupted run would")
      ->type_name("DIR");
  cmd->add_flag("--force", a->force, "Reuse an --out directory that already holds files");
  cmd->add_flag("--no-checkpoint", a->no_checkpoint,
                "Write no DIR/checkpoint.xck, not even at step 0 and at the end as "
                "train.checkpoint_every = 0 does (a run started so cannot be resumed); for "
                "throughput runs, where a K = 64 checkpoint is 167 MB");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress or summary output");
  cmd->footer(train_footer() +
              "\nExit status: 0 finished; 2 bad input (flags, config, a damaged or foreign "
              "checkpoint); 3 the run diverged (a NaN or inf loss or parameter: the error names "
              "step, replica, seed and tensor, and DIR/checkpoint.xck keeps the last good state); "
              "1 anything else.\n");
  cmd->callback([a] {
    if (a->resume.empty() && a->o.preset.empty() && a->o.config.empty()) a->o.preset = "default";
    run_train(*a);
  });
}

}  // namespace xent::cli
