#include "io/cores.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

namespace xent {
namespace {

// cgroup v2's cpu.max: "max PERIOD" (no limit) or "QUOTA PERIOD" (QUOTA / PERIOD cores).
int cgroup_cores() {
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || !(period > 0)) return 0;
  try {
    return std::max(1, static_cast<int>(std::ceil(std::stod(quota) / period)));
  } catch (const std::exception&) {
    return 0;  // unreadable: no limit known
  }
}

}  // namespace

int usable_cores() {
  int n = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  if (const int limit = cgroup_cores(); limit > 0) n = std::min(n, limit);
  return std::max(n, 1);
}

}  // namespace xent
