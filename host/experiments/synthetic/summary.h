// The synthetic experiment's files: its metric names in file order and a train run's
// summary.json.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "xent/config.h"
#include "xent/run.h"

namespace xent {

// The synthetic experiment's metric names in file order: r2_a, r2_o, mae_o, r2_w, r2_o_w,
// mae_o_w, mcc, acc, loss (metric_values' order).
const std::vector<std::string>& metric_names();
// A train run's summary.json (README, "Using it"): preset, backend, steps, population, wall_s,
// steps_per_s, steady_steps, steady_steps_per_s, then each replica's seed and final metrics.
// `xent train` writes it and xent.train returns it, from this one function.
nlohmann::ordered_json train_summary(const std::string& preset, const std::string& backend,
                                     const Config& c, const std::vector<uint64_t>& seeds,
                                     const RunOutcome& r, double wall_s);

}  // namespace xent
