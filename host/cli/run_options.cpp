#include "cli/run_options.h"

namespace xent::cli {

void RunOptions::add_to(CLI::App& cmd) {
  cmd.add_option("-p,--preset", preset,
                 "A built-in setting (listed below); applied first, then --config, then --set");
  cmd.add_option("-c,--config", config, "TOML file of config keys ([dgp], [model], [train])");
  cmd.add_option("-s,--set", sets, "Override one key, e.g. --set dgp.kappa=50 (repeatable)")
      ->type_name("KEY=VALUE");
}

std::string train_footer() {
  std::string s =
      "\nPresets (the paper's Tables 2 and 3, full length; shorten with --set "
      "train.steps=N):\n";
  for (const auto& [name, help] : preset_list()) {
    s += "  " + name;
    s += std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') + help + "\n";
  }
  s += "\nConfig keys and defaults (without a preset):\n" + config_keys_help();
  s += "  (model.hidden = [] means the paper's widths 10d, 50d, 50d, 50d, 50d, 10d)\n";
  s += "  (train.threads = 0 means every core this process may use; results do not depend on it)\n";
  return s;
}

}  // namespace xent::cli
