#include "experiments/synthetic/summary.h"

#include "engine/metrics_files.h"

namespace xent {

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = {"r2_a",    "r2_o", "mae_o", "r2_w", "r2_o_w",
                                                 "mae_o_w", "mcc",  "acc",   "loss"};
  return names;
}

nlohmann::ordered_json train_summary(const std::string& preset, const std::string& backend,
                                     const Config& c, const std::vector<uint64_t>& seeds,
                                     const RunOutcome& r, double wall_s) {
  nlohmann::ordered_json replicas = nlohmann::ordered_json::array();
  for (size_t k = 0; k < r.metrics.size(); ++k) {
    nlohmann::ordered_json j = {{"replica", k}, {"seed", seeds[k]}};
    j.update(metrics_json(r.metrics[k]));
    replicas.push_back(j);
  }
  const auto rate = [](int64_t steps, double s) {
    return steps > 0 && s > 0 ? static_cast<double>(steps) / s : 0.0;
  };
  return {{"preset", preset},
          {"backend", backend},
          {"steps", c.train.steps},
          {"population", c.train.population},
          {"wall_s", wall_s},
          {"steps_per_s", rate(r.steps_trained, r.train_s)},
          {"steady_steps", r.steady_steps},
          {"steady_steps_per_s", rate(r.steady_steps, r.steady_s)},
          {"replicas", replicas}};
}

}  // namespace xent
