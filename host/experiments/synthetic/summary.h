// The synthetic experiment's files: its metric names in file order and its runs' summary.json.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/run_directory.h"
#include "xent/config.h"
#include "xent/run.h"

namespace xent {

// The synthetic experiment's metric names in file order: r2_a, r2_o, mae_o, r2_w, r2_o_w,
// mae_o_w, mcc, acc, loss (metric_values' order).
const std::vector<std::string>& metric_names();
// A synthetic run's summary.json: run {command, experiment "synthetic", preset}, its config,
// steps and timings, and each replica's seed and final metrics (metrics[k]). `xent train`,
// xent.train and `xent sweep`'s runs write it from this one function.
Summary synthetic_summary(const std::string& command, const std::string& preset,
                          const std::string& backend, const Config& c, int64_t steps,
                          const std::vector<uint64_t>& seeds,
                          const std::vector<MetricValues>& metrics, nlohmann::ordered_json timings);

}  // namespace xent
