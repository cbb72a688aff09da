// `xent encode`: a trained run's encoder on given observations, written as .npy features (for
// `xent probe-factors`, or any analysis of the representation). --untrained gives the same
// run's encoder at its initialisation.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "xent/backend.h"
#include "xent/checkpoint.h"
#include "xent/config.h"
#include "xent/error.h"
#include "xent/npy.h"
#include "xent/trainer.h"
#include "xent/trainer_run.h"

namespace xent::cli {
namespace {

struct Options {
  std::string run, inputs, out, device = "auto";
  int replica = 0;
  bool untrained = false;
};

void run(const Options& o) {
  const std::string cfg = o.run + "/config.toml";
  if (!std::filesystem::exists(cfg))
    throw InputError(cfg + ": missing (is " + o.run + " a directory written by xent train?)");
  const Config c = load_config("", cfg, {});
  if (o.replica < 0 || o.replica >= c.train.population)
    throw InputError("--replica " + std::to_string(o.replica) + ": the run has " +
                     std::to_string(c.train.population) + " replica(s)");
  const NpyArray in = read_npy(o.inputs);
  if (in.shape.size() != 2 || in.shape[1] != c.dgp.d || in.shape[0] < 1)
    throw InputError(o.inputs + ": expected observations [n][" + std::to_string(c.dgp.d) +
                     "] (dgp.d of " + cfg + ")");
  Checkpoint ck;
  const std::string ck_path = o.run + "/checkpoint.xck";
  if (!o.untrained) {
    if (!std::filesystem::exists(ck_path))
      throw InputError(ck_path +
                       ": missing (the run wrote no checkpoint; --untrained encodes "
                       "with the initial weights)");
    ck = read_checkpoint(ck_path);
    check_checkpoint(ck, c, ck_path);
  }
  BackendOptions bo;
  bo.device = o.device;
  bo.threads = c.train.threads;
  auto backend = make_backend(bo);
  Trainer t(*backend, c);
  if (!o.untrained) restore_checkpoint(t, ck, ck_path);
  const std::vector<float> x(in.data.begin(), in.data.end());
  const int64_t n = in.shape[0];
  const std::vector<float> f = t.encode(x.data(), n);
  const int64_t d = static_cast<int64_t>(f.size()) / (n * c.train.population);
  write_npy(o.out, f.data() + static_cast<size_t>(o.replica) * n * d, {n, d});
}

}  // namespace

void add_encode(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "encode", "Run a trained encoder (xent train's DIR) on observations and write its features");
  cmd->add_option("--run", o->run, "a directory written by xent train")->required();
  cmd->add_option("--inputs", o->inputs, "observations .npy [n][dgp.d], e.g. xent sample's")
      ->required();
  cmd->add_option("--out", o->out, "features .npy [n][d] to write")->required();
  cmd->add_option("--replica", o->replica, "which replica of a population")->capture_default_str();
  cmd->add_flag("--untrained", o->untrained, "the encoder at initialisation (no checkpoint)");
  cmd->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  cmd->callback([o] { run(*o); });
}

}  // namespace xent::cli
