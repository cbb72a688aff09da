// Rows of a run's metrics as the dicts the package returns (metrics.jsonl's rows).
#include <nanobind/stl/string.h>

#include "module.h"

namespace xent::py {

nb::dict row_dict(const MetricsRow& r) {
  nb::dict d;
  d["step"] = r.step;
  d["replica"] = r.replica;
  d["seed"] = r.seed;
  d["wall_s"] = r.wall_s;
  for (const Metric& m : r.values) d[m.name.c_str()] = m.value;
  return d;
}

nb::list dicts(const std::vector<MetricsRow>& rows) {
  nb::list out;
  for (const MetricsRow& r : rows) out.append(row_dict(r));
  return out;
}

}  // namespace xent::py
