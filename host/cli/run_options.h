// The options train and sample share: a preset, a TOML file and key=value overrides.
#pragma once
#include <string>
#include <vector>

#include "cli/commands.h"
#include "xent/config.h"

namespace xent::cli {

// The reference code's default length (klindtlab/csi simulation/: --nr-indices 10240 at batch
// 1024 is 10 steps an epoch, for 50,000 epochs), ten times the paper's text.
constexpr int64_t kReferenceSteps = 500000;

struct RunOptions {
  std::string preset;
  std::string config;
  std::vector<std::string> sets;
  // "paper": train.steps as the preset or config gives it (the presets: the paper's 50,000);
  // "reference": kReferenceSteps. Either way --set train.steps=N wins.
  std::string length = "paper";
  void add_to(CLI::App& cmd);
  void add_length_to(CLI::App& cmd);
  // The sets that load() applies after the preset and the config: the length's, then --set's.
  std::vector<std::string> all_sets() const;
  Config load() const { return load_config(preset, config, all_sets()); }
};

// Presets and config keys with their defaults, for --help.
std::string train_footer();

}  // namespace xent::cli
