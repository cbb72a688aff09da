#include "cli/run_options.h"

#include "xent/error.h"

namespace xent::cli {

void RunOptions::add_to(CLI::App& cmd) {
  cmd.add_option("-p,--preset", preset,
                 "A built-in setting (listed below); applied first, then --config, then --set");
  cmd.add_option("-c,--config", config, "TOML file of config keys ([dgp], [model], [train])");
  cmd.add_option("-s,--set", sets, "Override one key, e.g. --set dgp.kappa=50 (repeatable)")
      ->type_name("KEY=VALUE");
}

void RunOptions::add_length_to(CLI::App& cmd) {
  cmd.add_option("--length", length,
                 "paper: train.steps as the preset gives it (the paper's 50,000 steps); "
                 "reference: 500,000 steps, the reference code's default (10x the paper's text); "
                 "--set train.steps=N still wins")
      ->capture_default_str();
}

std::vector<std::string> RunOptions::all_sets() const {
  if (length != "paper" && length != "reference")
    throw InputError("--length: expected paper or reference, got '" + length + "'");
  std::vector<std::string> out;
  if (length == "reference") out.push_back("train.steps=" + std::to_string(kReferenceSteps));
  out.insert(out.end(), sets.begin(), sets.end());
  return out;
}

std::string train_footer() {
  std::string s =
      "\nPresets (the paper's Tables 2 and 3, full length: the paper's 50,000 steps; --length "
      "reference for the reference code's 500,000; shorten with --set train.steps=N):\n";
  for (const auto& [name, help] : preset_list()) {
    s += "  " + name;
    s += std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') + help + "\n";
  }
  s += "\nConfig keys and defaults (without a preset):\n" + config_keys_help();
  s += "  (model.hidden = [] means the paper's widths 10d, 50d, 50d, 50d, 50d, 10d)\n";
  s += "  (dgp.centres_file, dgp.mixing_file: .npy files [clusters][d] and [mixing_layers][d][d] "
       "to use instead of the seed's draws, as `xent sample` writes them)\n";
  s += "  (train.threads = 0 means every core this process may use; results do not depend on it)\n";
  return s;
}

}  // namespace xent::cli
