// xent train: trains K replicas of the paper's synthetic experiment and writes
// DIR/config.toml, DIR/metrics.jsonl and DIR/summary.json.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "files.h"
#include "progress.h"
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

void run_train(const RunOptions& o, const std::string& device, std::string out, bool force,
               bool quiet) {
  const Config c = o.load();
  auto backend = make_backend(device);
  if (out.empty()) out = default_out(o.preset.empty() ? std::string("default") : o.preset);
  prepare_output_dir(out, force);
  write_file_atomic(out + "/config.toml", to_toml(c));
  std::remove((out + "/summary.json").c_str());
  std::ofstream metrics(out + "/metrics.jsonl", std::ios::trunc);
  if (!metrics) throw InputError(out + "/metrics.jsonl: cannot write");

  const bool tty = !quiet && stderr_is_terminal();
  if (!quiet)
    std::fprintf(stderr, "xent: %s, d=%d, %lld classes, K=%d, %lld steps of batch %d on %s -> %s\n",
                 c.dgp.labels == LabelMode::Diet ? "DIET" : "supervised", c.dgp.d,
                 static_cast<long long>(c.dgp.classes()), c.train.population,
                 static_cast<long long>(c.train.steps), c.train.batch, backend->name().c_str(),
                 out.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  Trainer trainer(*backend, c);
  ProgressBar bar(c.train.steps, tty);
  std::vector<ReplicaMetrics> last;
  auto evaluate = [&] {
    last = trainer.evaluate();
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
    if (!tty && !quiet)
      std::fprintf(stderr, "step %lld: r2_a %.4f  acc %.4f  loss %.4f\n",
                   static_cast<long long>(trainer.steps_done()), last[0].r2_a, last[0].acc,
                   last[0].loss);
  };
  const auto t_train = std::chrono::steady_clock::now();
  for (int64_t s = 1; s <= c.train.steps; ++s) {
    trainer.step();
    if (bar.due()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "loss %.4f", static_cast<double>(trainer.last_loss()[0]));
      bar.update(s, buf);
    }
    if ((c.train.eval_every > 0 && s % c.train.eval_every == 0) || s == c.train.steps) {
      evaluate();
      if (tty) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "loss %.4f  r2_a %.4f", last[0].loss, last[0].r2_a);
        bar.update(s, buf, true);
      }
    }
  }
  bar.finish();
  const auto t1 = std::chrono::steady_clock::now();
  const double wall = std::chrono::duration<double>(t1 - t0).count();
  const double train_s = std::chrono::duration<double>(t1 - t_train).count();

  nlohmann::json replicas = nlohmann::json::array();
  for (size_t k = 0; k < last.size(); ++k) {
    nlohmann::json j = {{"replica", k}, {"seed", trainer.seed(static_cast<int>(k))}};
    j.update(to_json(last[k]));
    replicas.push_back(j);
  }
  const nlohmann::json summary = {
      {"preset", o.preset},     {"backend", backend->name()},
      {"steps", c.train.steps}, {"population", c.train.population},
      {"wall_s", wall},         {"steps_per_s", static_cast<double>(c.train.steps) / train_s},
      {"replicas", replicas}};
  write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  if (!quiet) print_summary(last, trainer, wall, c.train.steps, out);
}

}  // namespace

void add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train",
      "Train K replicas of the paper's synthetic experiment (a cross-entropy classifier on "
      "latents mixed by an invertible MLP) and probe how well its features recover the "
      "latents.\nWith no options it runs the built-in default: the supervised base setting, "
      "shortened to about a minute on a CPU.");
  auto o = std::make_shared<RunOptions>();
  auto device = std::make_shared<std::string>("auto");
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  o->add_to(*cmd);
  cmd->add_option("--device", *device, "auto, cpu or cuda (auto: cuda when present)")
      ->capture_default_str();
  cmd->add_option("--out", *out,
                  "Output directory for config.toml, metrics.jsonl and summary.json "
                  "(default: runs/<preset>-<time>)");
  cmd->add_flag("--force", *force, "Reuse an --out directory that already holds files");
  cmd->add_flag("-q,--quiet", *quiet, "No progress or summary output");
  cmd->footer(train_footer());
  cmd->callback([=] {
    if (o->preset.empty() && o->config.empty()) o->preset = "default";
    run_train(*o, *device, *out, *force, *quiet);
  });
}

}  // namespace xent::cli
