// The options train and sample share: a preset, a TOML file and key=value overrides.
#pragma once
#include <string>
#include <vector>

#include "cli/commands.h"
#include "xent/config.h"

namespace xent::cli {

struct RunOptions {
  std::string preset;
  std::string config;
  std::vector<std::string> sets;
  void add_to(CLI::App& cmd);
  Config load() const { return load_config(preset, config, sets); }
};

// Presets and config keys with their defaults, for --help.
std::string train_footer();

}  // namespace xent::cli
