// Between the emulator's runtime (streams, graphs, memory) and its scheduler (fibers).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "simt.h"

namespace xent::simt::detail {

// Runs every block of the grid and returns when all have finished. The caller validated the
// configuration.
void run_grid(const LaunchParams& params, const std::function<void()>& body);

[[noreturn]] void die(const std::string& message);
std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string site_string(Site site);

// The device and pinned host allocations now, as sorted [begin, end) ranges: what a kernel may
// address as global memory.
std::vector<std::pair<uintptr_t, uintptr_t>> device_ranges();

}  // namespace xent::simt::detail
