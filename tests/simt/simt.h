// The SIMT emulator: runs CUDA kernels compiled by g++ on the CPU. kernels/compat.cuh maps
// CUDA's device built-ins onto this interface; tests use the schedule and worker controls.
//
// Every CUDA thread is a fiber; all fibers of a block run on one OS thread, blocks spread over a
// pool of worker threads. Fibers switch only at __syncthreads, __syncwarp and the warp
// shuffles/votes, so kernel code between two of those runs as plain host code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda_names.h"
// The renames above must precede the runtime's declarations.
#include <cuda_runtime.h>

namespace xent::simt {

struct Site {
  const char* file;
  int line;
};

// The block and thread a fiber is, as seen by the running fiber. The scheduler rewrites them at
// every switch; they are thread_local because each worker thread runs its own block.
inline thread_local uint3 tls_thread_idx{};
inline thread_local uint3 tls_block_idx{};
inline thread_local dim3 tls_block_dim{};
inline thread_local dim3 tls_grid_dim{};
inline thread_local unsigned char* tls_dynamic_shared = nullptr;

enum class WarpOp : uint8_t {
  kSync,
  kShflIdx,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAny,
  kAll,
  kReduceAdd,
  kReduceMinU,
  kReduceMaxU,
  kReduceMinI,
  kReduceMaxI,
  kReduceAnd,
  kReduceOr,
  kReduceXor,
};

// Switch points. They abort with a diagnostic (the sites involved) when the block or warp
// cannot agree: a barrier only part of the block reaches, or lanes of one mask at different
// warp operations.
int block_barrier(Site site, int predicate);  // returns how many threads had a nonzero predicate
struct WarpResult {
  uint64_t bits;
  bool undefined;  // read from a lane that is not in the mask or has exited
};
WarpResult warp_op(Site site, WarpOp op, unsigned mask, uint64_t bits, int operand, int width);
unsigned active_mask();  // the lanes of the caller's warp that exist and have not exited

template <typename T>
uint64_t to_bits(T value) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp ops move up to 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof value);
  return bits;
}

template <typename T>
T from_bits(uint64_t bits) {
  T value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// What a read of an undefined lane returns: the quiet-NaN pattern of T's width, so that a kernel
// that uses it shows NaN (floats) or an implausible value (integers) instead of a plausible one.
template <typename T>
T poison() {
  constexpr uint64_t kPattern = sizeof(T) == 8 ? 0x7ff8000000000000ull : 0x7fc000007fc00000ull;
  return from_bits<T>(kPattern);
}

// The device built-ins that are switch points, bound to the call site that compat.cuh's macros
// pass in, so that diagnostics name the kernel's own line.
struct At {
  At(const char* file, int line) : site{file, line} {}
  Site site;

  void syncthreads() const { block_barrier(site, 0); }
  int syncthreads_count(int predicate) const { return block_barrier(site, predicate); }
  int syncthreads_and(int predicate) const {
    const unsigned n = tls_block_dim.x * tls_block_dim.y * tls_block_dim.z;
    return block_barrier(site, predicate) == static_cast<int>(n);
  }
  int syncthreads_or(int predicate) const { return block_barrier(site, predicate) != 0; }

  void syncwarp(unsigned mask = 0xffffffffu) const { warp_op(site, WarpOp::kSync, mask, 0, 0, 32); }

  template <typename T>
  T shfl(unsigned mask, T value, int src_lane, int width = 32) const {
    return exchange(WarpOp::kShflIdx, mask, value, src_lane, width);
  }
  template <typename T>
  T shfl_up(unsigned mask, T value, unsigned delta, int width = 32) const {
    return exchange(WarpOp::kShflUp, mask, value, static_cast<int>(delta), width);
  }
  template <typename T>
  T shfl_down(unsigned mask, T value, unsigned delta, int width = 32) const {
    return exchange(WarpOp::kShflDown, mask, value, static_cast<int>(delta), width);
  }
  template <typename T>
  T shfl_xor(unsigned mask, T value, int lane_mask, int width = 32) const {
    return exchange(WarpOp::kShflXor, mask, value, lane_mask, width);
  }

  unsigned ballot(unsigned mask, int predicate) const {
    return static_cast<unsigned>(warp_op(site, WarpOp::kBallot, mask, predicate != 0, 0, 32).bits);
  }
  int any(unsigned mask, int predicate) const {
    return static_cast<int>(warp_op(site, WarpOp::kAny, mask, predicate != 0, 0, 32).bits);
  }
  int all(unsigned mask, int predicate) const {
    return static_cast<int>(warp_op(site, WarpOp::kAll, mask, predicate != 0, 0, 32).bits);
  }

  unsigned reduce_add(unsigned mask, unsigned value) const {
    return reduce(WarpOp::kReduceAdd, mask, value);
  }
  int reduce_add(unsigned mask, int value) const {
    return static_cast<int>(reduce(WarpOp::kReduceAdd, mask, static_cast<unsigned>(value)));
  }
  unsigned reduce_min(unsigned mask, unsigned value) const {
    return reduce(WarpOp::kReduceMinU, mask, value);
  }
  int reduce_min(unsigned mask, int value) const {
    return static_cast<int>(reduce(WarpOp::kReduceMinI, mask, static_cast<unsigned>(value)));
  }
  unsigned reduce_max(unsigned mask, unsigned value) const {
    return reduce(WarpOp::kReduceMaxU, mask, value);
  }
  int reduce_max(unsigned mask, int value) const {
    return static_cast<int>(reduce(WarpOp::kReduceMaxI, mask, static_cast<unsigned>(value)));
  }
  unsigned reduce_and(unsigned mask, unsigned value) const {
    return reduce(WarpOp::kReduceAnd, mask, value);
  }
  unsigned reduce_or(unsigned mask, unsigned value) const {
    return reduce(WarpOp::kReduceOr, mask, value);
  }
  unsigned reduce_xor(unsigned mask, unsigned value) const {
    return reduce(WarpOp::kReduceXor, mask, value);
  }

 private:
  template <typename T>
  T exchange(WarpOp op, unsigned mask, T value, int operand, int width) const {
    const WarpResult r = warp_op(site, op, mask, to_bits(value), operand, width);
    return r.undefined ? poison<T>() : from_bits<T>(r.bits);
  }
  unsigned reduce(WarpOp op, unsigned mask, unsigned value) const {
    return static_cast<unsigned>(warp_op(site, op, mask, value, 0, 32).bits);
  }
};

// A kernel launch: the body runs once per CUDA thread, on that thread's fiber.
struct LaunchParams {
  dim3 grid;
  dim3 block;
  size_t shared_bytes = 0;
  cudaStream_t stream = nullptr;
  const void* kernel = nullptr;  // identifies the kernel for cudaFuncSetAttribute
  Site site{"?", 0};             // where the host launched it
};
// Runs the grid now, or records it when the stream is capturing. Launch errors are reported
// through cudaGetLastError, as on the device.
void launch(const LaunchParams& params, std::function<void()> body);
bool in_kernel();  // whether the caller is an emulated CUDA thread

// Scheduling orders: which ready fiber runs next at each switch point.
//   lockstep  breadth first in thread order: every ready thread runs to its next switch point
//             before any runs twice, the closest to a GPU's warps advancing together.
//   greedy    depth first from thread 0: the lowest ready thread always runs, so low warps race
//             ahead of high ones.
//   reversed  depth first from the last thread: high warps race ahead of low ones.
//   random    depth first like greedy, in a random order of warps and of lanes within each
//             warp (random:SEED; drawn per block, so results do not depend on which worker ran
//             the block). Some warp races ahead, and which one varies with the seed.
// XENT_SIMT_SCHEDULE selects the order at start-up (default lockstep).
enum class Schedule : uint8_t { kLockstep, kGreedy, kReversed, kRandom };
struct ScheduleSpec {
  Schedule kind = Schedule::kLockstep;
  uint64_t seed = 0;
};
bool parse_schedule(const std::string& text, ScheduleSpec* out);
std::string to_string(const ScheduleSpec& spec);
ScheduleSpec schedule();
void set_schedule(const ScheduleSpec& spec);

class ScopedSchedule {
 public:
  explicit ScopedSchedule(const ScheduleSpec& spec) : saved_(schedule()) { set_schedule(spec); }
  ~ScopedSchedule() { set_schedule(saved_); }
  ScopedSchedule(const ScopedSchedule&) = delete;
  ScopedSchedule& operator=(const ScopedSchedule&) = delete;

 private:
  ScheduleSpec saved_;
};

// The race and barrier checker (tests/simt/check.h): like compute-sanitizer's racecheck and
// synccheck, it reports shared- and global-memory hazards that no barrier or warp operation
// orders, and warp masks that name lanes which do not take part, whatever the schedule. The
// memory accesses are seen through ThreadSanitizer's compiler instrumentation of the emulated
// kernels, whose callbacks the emulator implements (tests/simt/hooks.cpp); the sanitizer build
// cannot have them, and there only the synchronisation checks run. XENT_SIMT_CHECK=1 turns it
// on at start-up for the first launches of each kernel configuration, =all for every launch
// (the test suite runs under =1); a launch with findings prints them and aborts.
struct Hazard {
  std::string kind;    // read-after-write, write-after-read, write-after-write, or warp-mask
  std::string space;   // shared, global, or warp
  std::string kernel;  // the kernel's name
  std::string first_site, second_site;  // file:line of both accesses (both the op for a mask)
  std::string message;                  // the whole report, as printed
};
bool checking();
void set_checking(bool on);
bool memory_checks_built();  // whether any instrumented code registered its hooks

// For the checker's own tests: while one is alive, launches are checked and their findings
// collected here instead of aborting the process. One at a time.
class CheckCapture {
 public:
  CheckCapture();
  ~CheckCapture();
  CheckCapture(const CheckCapture&) = delete;
  CheckCapture& operator=(const CheckCapture&) = delete;
  std::vector<Hazard> hazards() const;
};

// OS threads that run blocks (XENT_SIMT_THREADS, default the hardware concurrency). Setting it
// takes effect at the next launch.
int worker_threads();
void set_worker_threads(int n);

}  // namespace xent::simt
