// xent train: trains K replicas of the paper's synthetic experiment and writes
// DIR/config.toml, DIR/metrics.jsonl, DIR/checkpoint.xck and DIR/summary.json; --resume DIR
// continues such a run from its checkpoint.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "io/files.h"
#include "io/progress.h"
#include "xent/checkpoint.h"
#include "xent/error.h"
#include "xent/trainer.h"

namespace xent::cli {
namespace {

nlohmann::json to_json(const ReplicaMetrics& m) {
  return {{"r2_a", m.r2_a}, {"r2_o", m.r2_o},     {"mae_o", m.mae_o},
          {"r2_w", m.r2_w}, {"r2_o_w", m.r2_o_w}, {"mae_o_w", m.mae_o_w},
          {"mcc", m.mcc},   {"acc", m.acc},       {"loss", m.loss}};
}

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

// Stops the run with the place a NaN or inf surfaced and where training can pick up again.
[[noreturn]] void diverged(const Divergence& d, const std::string& ckpt, int64_t ckpt_step) {
  throw DivergedError("step " + std::to_string(d.step) + ": replica " + std::to_string(d.replica) +
                      " (seed " + std::to_string(d.seed) + ") diverged: non-finite " +
                      (d.tensor == "loss" ? std::string("loss (parameters still finite)")
                                          : "values in " + d.tensor) +
                      "; last good checkpoint: " + ckpt + " (step " + std::to_string(ckpt_step) +
                      "); try a smaller train.lr");
}

// Keeps the metrics rows of steps up to `step` (later ones came from evaluations after the
// checkpoint and will be written again) and drops a row torn by a crash. Returns whether
// rows for `step` itself are present.
bool truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string kept;
  bool have_step = false;
  for (std::string l; std::getline(in, l);) {
    const nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer())
      continue;
    const int64_t s = j["step"].get<int64_t>();
    if (s > step) continue;
    have_step = have_step || s == step;
    kept += l + "\n";
  }
  write_file_atomic(path, kept);
  return have_step;
}

struct TrainArgs {
  RunOptions o;
  std::string device = "auto";
  std::string out;
  std::string resume;
  bool force = false;
  bool quiet = false;
};

void run_train(const TrainArgs& a) {
  const RunOptions& o = a.o;
  Config c;
  std::string out = a.out;
  Checkpoint ck;
  bool extended = false;
  if (!a.resume.empty()) {
    // Everything is checked before DIR is touched: a refused resume leaves the run as it was.
    if (!o.preset.empty() || !o.config.empty() || !out.empty())
      throw InputError("--resume " + a.resume + ": the run keeps its config.toml and outputs; " +
                       "--preset, --config and --out cannot be given with it");
    out = a.resume;
    const std::string cfg = out + "/config.toml";
    if (!std::filesystem::exists(cfg))
      throw InputError(cfg + ": missing (is " + out + " a directory written by xent train?)");
    const Config before = load_config("", cfg, {});
    c = load_config("", cfg, o.sets);
    check_resume_config(before, c);
    extended = c.train.steps != before.train.steps;
    const std::string ck_path = out + "/checkpoint.xck";
    if (!std::filesystem::exists(ck_path))
      throw InputError(ck_path +
                       ": missing (nothing to resume from: the run stopped before its first "
                       "checkpoint, or the file was removed)");
    ck = read_checkpoint(ck_path);
    check_checkpoint(ck, c, ck_path);
    if (ck.step > c.train.steps)
      throw InputError("train.steps=" + std::to_string(c.train.steps) + ": below the step of " +
                       ck_path + " (" + std::to_string(ck.step) + ")");
  } else {
    c = o.load();
  }
  auto backend = make_backend(a.device, c.train.tf32);
  if (c.train.tf32 && backend->name().rfind("cpu", 0) == 0 && !a.quiet)
    std::fprintf(stderr,
                 "xent: train.tf32 applies to the CUDA backend; the CPU computes in FP32\n");
  if (out.empty()) out = default_out(o.preset.empty() ? std::string("default") : o.preset);
  const std::string ck_path = out + "/checkpoint.xck";
  if (a.resume.empty()) prepare_output_dir(out, a.force);

  const bool tty = !a.quiet && stderr_is_terminal();
  if (!a.quiet)
    std::fprintf(stderr, "xent: %s, d=%d, %lld classes, K=%d, %lld steps of batch %d on %s -> %s\n",
                 c.dgp.labels == LabelMode::Diet ? "DIET" : "supervised", c.dgp.d,
                 static_cast<long long>(c.dgp.classes()), c.train.population,
                 static_cast<long long>(c.train.steps), c.train.batch, backend->name().c_str(),
                 out.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  std::ofstream metrics;
  bool have_final_rows = false;
  std::unique_ptr<Trainer> trainer_ptr;
  if (!a.resume.empty()) {
    trainer_ptr = std::make_unique<Trainer>(*backend, c);
    restore_checkpoint(*trainer_ptr, ck, ck_path);
    ck.tensors = {};  // a host copy of the whole state: not worth keeping for the run
    if (extended) write_file_atomic(out + "/config.toml", to_toml(c));
    std::remove((out + "/summary.json").c_str());
    have_final_rows = truncate_metrics(out + "/metrics.jsonl", ck.step);
    metrics.open(out + "/metrics.jsonl", std::ios::app);
    if (!a.quiet)
      std::fprintf(stderr, "xent: resuming at step %lld\n", static_cast<long long>(ck.step));
  } else {
    write_file_atomic(out + "/config.toml", to_toml(c));
    for (const char* f : {"/summary.json", "/checkpoint.xck"}) std::remove((out + f).c_str());
    metrics.open(out + "/metrics.jsonl", std::ios::trunc);
    trainer_ptr = std::make_unique<Trainer>(*backend, c);
  }
  if (!metrics) throw InputError(out + "/metrics.jsonl: cannot write");
  Trainer& trainer = *trainer_ptr;
  const int64_t start = trainer.steps_done();
  // A checkpoint at step 0 makes every started run resumable, however early it stops.
  if (start == 0) write_checkpoint(ck_path, trainer);
  int64_t ck_step = start;

  ProgressBar bar(c.train.steps, tty);
  std::vector<ReplicaMetrics> last;
  auto evaluate = [&](bool write_rows) {
    last = trainer.evaluate();
    if (!write_rows) return;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (size_t k = 0; k < last.size(); ++k) {
      nlohmann::json j = {{"step", trainer.steps_done()},
                          {"replica", k},
                          {"seed", trainer.seed(static_cast<int>(k))},
                          {"wall_s", wall}};
      j.update(to_json(last[k]));
      metrics << j.dump() << "\n";
    }
    metrics.flush();
    if (!metrics) throw InputError(out + "/metrics.jsonl: write failed");
    if (!tty && !a.quiet)
      std::fprintf(stderr, "step %lld: r2_a %.4f  acc %.4f  loss %.4f\n",
                   static_cast<long long>(trainer.steps_done()), last[0].r2_a, last[0].acc,
                   last[0].loss);
  };
  // The loss is K floats the step computed anyway, but reading it is a device-to-host copy
  // (a sync on a GPU), so it is read every kLossCheckEvery steps, not every step: a diverged
  // run stops a little later, never with a bad checkpoint. Parameters are a full download,
  // checked only before they are evaluated or saved, which keeps a bad state out of every
  // checkpoint.
  constexpr int64_t kLossCheckEvery = 100;
  auto guard = [&](bool params) {
    if (const auto d = trainer.find_nonfinite(params)) diverged(*d, ck_path, ck_step);
  };
  const auto t_train = std::chrono::steady_clock::now();
  try {
    for (int64_t s = start + 1; s <= c.train.steps; ++s) {
      trainer.step();
      if (s % kLossCheckEvery == 0) guard(false);
      if (bar.due()) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "loss %.4f", static_cast<double>(trainer.last_loss()[0]));
        bar.update(s, buf);
      }
      const bool eval_due =
          (c.train.eval_every > 0 && s % c.train.eval_every == 0) || s == c.train.steps;
      const bool ck_due =
          (c.train.checkpoint_every > 0 && s % c.train.checkpoint_every == 0) || s == c.train.steps;
      if (eval_due || ck_due) guard(true);
      if (eval_due) {
        evaluate(true);
        if (tty) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "loss %.4f  r2_a %.4f", last[0].loss, last[0].r2_a);
          bar.update(s, buf, true);
        }
      }
      // After the evaluation, so that a crash in between repeats the evaluation on resume
      // rather than losing its rows.
      if (ck_due) {
        write_checkpoint(ck_path, trainer);
        ck_step = s;
      }
    }
    // Resuming a run whose last checkpoint is its final step: only the summary is missing.
    if (start == c.train.steps) evaluate(!have_final_rows);
  } catch (const DivergedError& e) {
    if (std::string(e.what()).find("last good checkpoint") != std::string::npos) throw;
    throw DivergedError(std::string(e.what()) + "; last good checkpoint: " + ck_path + " (step " +
                        std::to_string(ck_step) + ")");
  }
  bar.finish();
  const auto t1 = std::chrono::steady_clock::now();
  const double wall = std::chrono::duration<double>(t1 - t0).count();
  const double train_s = std::chrono::duration<double>(t1 - t_train).count();
  const int64_t ran = c.train.steps - start;

  nlohmann::json replicas = nlohmann::json::array();
  for (size_t k = 0; k < last.size(); ++k) {
    nlohmann::json j = {{"replica", k}, {"seed", trainer.seed(static_cast<int>(k))}};
    j.update(to_json(last[k]));
    replicas.push_back(j);
  }
  const nlohmann::json summary = {
      {"preset", o.preset},
      {"backend", backend->name()},
      {"steps", c.train.steps},
      {"population", c.train.population},
      {"wall_s", wall},
      {"steps_per_s", ran > 0 && train_s > 0 ? static_cast<double>(ran) / train_s : 0.0},
      {"replicas", replicas}};
  write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  if (!a.quiet) print_summary(last, trainer, wall, ran, out);
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
  cmd->add_option("--device", a->device, "auto, cpu or cuda (auto: cuda when present)")
      ->capture_default_str();
  cmd->add_option("--out", a->out,
                  "Output directory for config.toml, metrics.jsonl, checkpoint.xck and "
                  "summary.json (default: runs/<preset>-<time>)");
  cmd->add_option("--resume", a->resume,
                  "Continue the run in DIR from DIR/checkpoint.xck to train.steps (extend it "
                  "with --set train.steps=N); on the CPU it ends bit for bit where an "
                  "uninterrupted run would")
      ->type_name("DIR");
  cmd->add_flag("--force", a->force, "Reuse an --out directory that already holds files");
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
