#include "experiments/synthetic/summary.h"

#include <utility>

namespace xent {

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {"r2_a",    "r2_o", "mae_o", "r2_w", "r2_o_w",
                                                 "mae_o_w", "mcc",  "acc",   "loss"};
  return names;
}

Summary synthetic_summary(const std::string& command, const std::string& preset,
                          const std::string& backend, const Config& c, int64_t steps,
                          const std::vector<uint64_t>& seeds,
                          const std::vector<MetricValues>& metrics,
                          nlohmann::ordered_json timings) {
  Summary s;
  s.run = {{"command", command}, {"experiment", "synthetic"}, {"preset", preset}};
  s.config_toml = to_toml(c);
  s.backend = backend;
  s.steps = steps;
  s.timings = std::move(timings);
  for (size_t k = 0; k < metrics.size(); ++k) {
    nlohmann::ordered_json j = {{"replica", k}, {"seed", seeds[k]}};
    j.update(metrics_json(metrics[k]));
    s.replicas.push_back(j);
  }
  return s;
}

}  // namespace xent
