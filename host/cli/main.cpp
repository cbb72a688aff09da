// xent: the command-line entry point. Subcommands live in host/cli/<name>_command.cpp.
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "xent/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "xent: the synthetic experiments of \"Cross-Entropy Is All You Need To Invert the Data "
      "Generating Process\" (ICLR 2025), fast.\n"
      "Run `xent <command> --help` for a command's options."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Every command's help");
  xent::cli::add_train(app);
  xent::cli::add_probe(app);
  xent::cli::add_probe_factors(app);
  xent::cli::add_encode(app);
  xent::cli::add_sample(app);
  xent::cli::add_sweep(app);
  xent::cli::add_dislib(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes are not meaningful to scripts: every usage error exits with 2.
    app.exit(e);
    return 2;
  } catch (const xent::DivergedError& e) {
    // Its own status, so that scripts can tell a diverged run from bad input.
    std::fprintf(stderr, "xent: error: %s\n", e.what());
    return 3;
  } catch (const xent::DeviceError& e) {
    std::fprintf(stderr, "xent: device error: %s\n", e.what());
    return 4;
  } catch (const xent::InputError& e) {
    std::fprintf(stderr, "xent: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    // Not the user's input: an exhausted machine, a bug. Still one line.
    std::fprintf(stderr, "xent: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
