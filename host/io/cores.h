// How many cores this process may use: the CPUs of its affinity mask, capped by a cgroup (v2)
// CPU quota when one is set. At least 1.
#pragma once

namespace xent {

int usable_cores();

}  // namespace xent
