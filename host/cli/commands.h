// The xent subcommands. Each add_* registers one subcommand on the top-level app; its callback
// runs the command. Bad input is thrown as xent::InputError (main prints it, exits with 2).
#pragma once
#include <CLI/CLI.hpp>

namespace xent::cli {

void add_train(CLI::App& app);
void add_probe(CLI::App& app);
void add_sample(CLI::App& app);
void add_sweep(CLI::App& app);
void add_dislib(CLI::App& app);
void add_probe_factors(CLI::App& app);
void add_encode(CLI::App& app);

}  // namespace xent::cli
