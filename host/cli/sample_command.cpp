// xent sample: draws from the DGP exactly as training does, so it can be checked from Python.
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/run_options.h"
#include "io/files.h"
#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/npy.h"

namespace xent::cli {
namespace {

void run_sample(const RunOptions& o, int64_t n, const std::string& out, bool force) {
  if (n < 1 || n > (int64_t{1} << 28)) throw InputError("--n: must be in [1, 2^28]");
  Config c = o.load();
  c.train.population = 1;
  prepare_output_dir(out, force);
  const DgpParams& g = c.dgp;
  const DgpSamples s = draw_samples(g, c.train.seed, n);
  write_npy(out + "/latents.npy", s.z.data(), {n, g.d});
  write_npy(out + "/observations.npy", s.x.data(), {n, g.d});
  write_npy(out + "/labels.npy", s.labels.data(), {n});
  write_npy(out + "/clusters.npy", s.clusters.data(), {n});
  write_npy(out + "/centres.npy", s.centres.data(), {g.clusters, g.d});
  write_npy(out + "/mixing.npy", s.mixing.data(), {g.mixing_layers, g.d, g.d});
  write_file_atomic(out + "/config.toml", to_toml(c));
  std::printf(
      "wrote %lld samples (d=%d, %d clusters) to %s: latents.npy observations.npy "
      "labels.npy clusters.npy centres.npy mixing.npy config.toml\n",
      static_cast<long long>(n), g.d, g.clusters, out.c_str());
}

}  // namespace

void add_sample(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "sample",
      "Draw samples from the data generating process (the same stream training starts with) "
      "and write them as .npy: latents z [n][d], observations x = g(z) [n][d], labels [n] "
      "(int32), clusters [n] (int32), centres [clusters][d] and the mixing weights "
      "[layers][d][d] (x_out = W x_in, LeakyReLU(0.2) between layers).");
  auto o = std::make_shared<RunOptions>();
  auto n = std::make_shared<int64_t>(0);
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  o->add_to(*cmd);
  cmd->add_option("-n,--n", *n, "Number of samples")->required();
  cmd->add_option("-o,--out", *out, "Output directory")->required();
  cmd->add_flag("--force", *force, "Reuse an --out directory that already holds files");
  cmd->footer(train_footer());
  cmd->callback([=] { run_sample(*o, *n, *out, *force); });
}

}  // namespace xent::cli
