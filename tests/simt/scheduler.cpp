// The emulator's scheduler: CUDA threads as fibers, barriers, warp operations, the worker pool.
//
// Fibers are Boost.Context's fcontext (the assembly context switch under boost::context::fiber,
// without its unwinding machinery): a switch is a few register saves, where ucontext makes a
// signal-mask system call. A fiber never finishes: after its kernel body returns it parks, and
// the next block resumes it with new indices. Its stack frames therefore always unwind normally,
// which keeps AddressSanitizer's stack poisoning consistent across reuse.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/context/detail/fcontext.hpp>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "check.h"
#include "internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define XENT_SIMT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define XENT_SIMT_ASAN 1
#endif
#endif
#if XENT_SIMT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace xent::simt {
namespace detail {

void die(const std::string& message) {
  std::fprintf(stderr, "xent simt: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string format(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out(static_cast<size_t>(std::max(n, 0)), '\0');
  std::vsnprintf(out.data(), out.size() + 1, fmt, args);
  va_end(args);
  return out;
}

std::string site_string(Site site) { return format("%s:%d", site.file, site.line); }

}  // namespace detail

namespace {

using boost::context::detail::fcontext_t;
using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;
using detail::die;
using detail::format;
using detail::site_string;

constexpr int kWarp = 32;
constexpr unsigned kMaxBlockThreads = 1024;

// AddressSanitizer must know which stack is live, or it reports the fiber's frames as overflows
// of the worker's stack (and misses real ones).
void start_switch(void** fake_stack, const void* bottom, size_t size) {
#if XENT_SIMT_ASAN
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack, (void)bottom, (void)size;
#endif
}

void finish_switch(void* fake_stack, const void** old_bottom, size_t* old_size) {
#if XENT_SIMT_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, old_bottom, old_size);
#else
  (void)fake_stack, (void)old_bottom, (void)old_size;
#endif
}

size_t stack_bytes() {
  // Kernels keep little on the stack; 64 KiB leaves room for printf and cuRAND states. The
  // sanitizers' redzones make frames several times larger. Pages are touched lazily, so the
  // reservation costs address space, not memory.
#if XENT_SIMT_ASAN
  size_t kib = 512;
#else
  size_t kib = 64;
#endif
  if (const char* env = std::getenv("XENT_SIMT_STACK_KB")) {
    const long v = std::strtol(env, nullptr, 10);
    if (v < 16) die(format("XENT_SIMT_STACK_KB=%s: need an integer of at least 16", env));
    kib = static_cast<size_t>(v);
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (kib * 1024 + page - 1) / page * page;
}

bool same_site(Site a, Site b) {
  return a.line == b.line && (a.file == b.file || std::strcmp(a.file, b.file) == 0);
}

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::kSync:
      return "__syncwarp";
    case WarpOp::kShflIdx:
      return "__shfl_sync";
    case WarpOp::kShflUp:
      return "__shfl_up_sync";
    case WarpOp::kShflDown:
      return "__shfl_down_sync";
    case WarpOp::kShflXor:
      return "__shfl_xor_sync";
    case WarpOp::kBallot:
      return "__ballot_sync";
    case WarpOp::kAny:
      return "__any_sync";
    case WarpOp::kAll:
      return "__all_sync";
    case WarpOp::kReduceAdd:
      return "__reduce_add_sync";
    case WarpOp::kReduceMinU:
    case WarpOp::kReduceMinI:
      return "__reduce_min_sync";
    case WarpOp::kReduceMaxU:
    case WarpOp::kReduceMaxI:
      return "__reduce_max_sync";
    case WarpOp::kReduceAnd:
      return "__reduce_and_sync";
    case WarpOp::kReduceOr:
      return "__reduce_or_sync";
    case WarpOp::kReduceXor:
      return "__reduce_xor_sync";
  }
  return "?";
}

bool is_shuffle(WarpOp op) {
  return op == WarpOp::kShflIdx || op == WarpOp::kShflUp || op == WarpOp::kShflDown ||
         op == WarpOp::kShflXor;
}

// "0-31, 40, 64-127": linear thread ids, compressed.
std::string ranges(const std::vector<unsigned>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += ids[i] == ids[j] ? format("%u", ids[i]) : format("%u-%u", ids[i], ids[j]);
    i = j + 1;
  }
  return out;
}

// Ready fibers, in the order the schedule picks them. Each fiber is in the set at most once.
class ReadySet {
 public:
  void reset(unsigned n, const ScheduleSpec& spec, uint64_t block) {
    kind_ = spec.kind;
    count_ = 0;
    head_ = 0;
    ring_.resize(n);
    bits_.assign((n + 63) / 64, 0);
    if (kind_ != Schedule::kRandom) return;
    // A random priority per thread: warps in a random order, lanes within each warp in a random
    // order. Seeded per block, so a block's schedule does not depend on the worker it ran on.
    rng_ = spec.seed ^ (block * 0x9e3779b97f4a7c15ull) ^ 0x2545f4914f6cdd1dull;
    const unsigned warps = (n + 31) / 32;
    warp_order_.resize(warps);
    for (unsigned w = 0; w < warps; ++w) warp_order_[w] = w;
    shuffle(warp_order_);
    order_.clear();
    lane_order_.resize(32);
    for (unsigned w : warp_order_) {
      for (unsigned l = 0; l < 32; ++l) lane_order_[l] = l;
      shuffle(lane_order_);
      for (unsigned l : lane_order_) {
        if (w * 32 + l < n) order_.push_back(w * 32 + l);
      }
    }
    rank_.resize(n);
    for (unsigned r = 0; r < n; ++r) rank_[order_[r]] = r;
  }

  void push(unsigned i) {
    switch (kind_) {
      case Schedule::kLockstep:
        ring_[(head_ + count_) % ring_.size()] = i;
        break;
      case Schedule::kGreedy:
      case Schedule::kReversed:
        bits_[i / 64] |= uint64_t{1} << (i % 64);
        break;
      case Schedule::kRandom:
        bits_[rank_[i] / 64] |= uint64_t{1} << (rank_[i] % 64);
        break;
    }
    ++count_;
  }

  // The next fiber to run, or -1 when none is ready.
  int pop() {
    if (count_ == 0) return -1;
    --count_;
    switch (kind_) {
      case Schedule::kLockstep: {
        const unsigned i = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
        return static_cast<int>(i);
      }
      case Schedule::kGreedy:
      case Schedule::kRandom:
        for (size_t w = 0; w < bits_.size(); ++w) {
          if (bits_[w] == 0) continue;
          const unsigned b =
              static_cast<unsigned>(w * 64) + static_cast<unsigned>(__builtin_ctzll(bits_[w]));
          bits_[w] &= bits_[w] - 1;
          return static_cast<int>(kind_ == Schedule::kRandom ? order_[b] : b);
        }
        break;
      case Schedule::kReversed:
        for (size_t w = bits_.size(); w-- > 0;) {
          if (bits_[w] == 0) continue;
          const int b = 63 - __builtin_clzll(bits_[w]);
          bits_[w] &= ~(uint64_t{1} << b);
          return static_cast<int>(w * 64) + b;
        }
        break;
    }
    return -1;
  }

 private:
  uint64_t next_random() {
    // splitmix64: cheap, and every seed gives a distinct stream.
    uint64_t z = (rng_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  void shuffle(std::vector<unsigned>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[next_random() % i]);
  }

  Schedule kind_ = Schedule::kLockstep;
  unsigned count_ = 0;
  size_t head_ = 0;
  std::vector<unsigned> ring_;
  std::vector<uint64_t> bits_;
  std::vector<unsigned> order_;  // random: the threads by priority
  std::vector<unsigned> rank_;   // random: each thread's priority
  std::vector<unsigned> warp_order_, lane_order_;
  uint64_t rng_ = 0;
};

enum class State : uint8_t { kReady, kBlockBarrier, kWarpOp, kDone };

struct Fiber {
  fcontext_t ctx = nullptr;
  void* mapping = nullptr;  // guard page, then the stack
  size_t mapping_bytes = 0;
  void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* fake_stack = nullptr;
  uint3 tid{};
  unsigned linear = 0;
  State state = State::kDone;
  int result = 0;  // a barrier's predicate count
};

struct PendingOp {
  WarpOp op;
  unsigned mask;
  unsigned arrived;
  int width;
  Site site;
};

struct WarpState {
  unsigned exists = 0;
  unsigned exited = 0;
  std::vector<PendingOp> pending;
  uint64_t value[kWarp] = {};
  int operand[kWarp] = {};
  uint64_t result[kWarp] = {};
  unsigned undefined = 0;
};

struct GridInfo {
  const LaunchParams* params;
  const std::function<void()>* body;
  ScheduleSpec schedule;
  check::Launch* check;  // null when the launch is not checked
};

class Worker;
void fiber_entry(transfer_t t);

// One per OS thread that runs blocks. Its fibers and their stacks live as long as the thread.
class Worker {
 public:
  Worker() : stack_bytes_(stack_bytes()) {}
  ~Worker() {
    for (Fiber& f : fibers_) {
#if XENT_SIMT_ASAN
      // Parked frames keep their redzones poisoned; clear them before the pages go away.
      ASAN_UNPOISON_MEMORY_REGION(f.stack_bottom, f.stack_size);
#endif
      munmap(f.mapping, f.mapping_bytes);
    }
    std::free(shared_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Fiber* current() const { return current_; }

  void run_block(const GridInfo& grid, uint64_t linear_block) {
    const LaunchParams& p = *grid.params;
    grid_ = &grid;
    const dim3 g = p.grid, b = p.block;
    tls_grid_dim = g;
    tls_block_dim = b;
    block_ = uint3{static_cast<unsigned>(linear_block % g.x),
                   static_cast<unsigned>(linear_block / g.x % g.y),
                   static_cast<unsigned>(linear_block / (uint64_t{g.x} * g.y))};
    tls_block_idx = block_;
    prepare_shared(p.shared_bytes);

    n_ = b.x * b.y * b.z;
    ensure_fibers(n_);
    const unsigned warps = (n_ + kWarp - 1) / kWarp;
    if (warps_.size() < warps) warps_.resize(warps);
    for (unsigned w = 0; w < warps; ++w) {
      WarpState& ws = warps_[w];
      const unsigned lanes = std::min<unsigned>(kWarp, n_ - w * kWarp);
      ws.exists = lanes == kWarp ? ~0u : (1u << lanes) - 1;
      ws.exited = 0;
      ws.pending.clear();
    }
    barrier_arrived_ = 0;
    barrier_count_ = 0;
    done_ = 0;
    ready_.reset(n_, grid.schedule, linear_block);
    for (unsigned i = 0; i < n_; ++i) {
      Fiber& f = fibers_[i];
      f.linear = i;
      f.tid = uint3{i % b.x, i / b.x % b.y, i / (b.x * b.y)};
      f.state = State::kReady;
      ready_.push(i);
    }

    if (grid.check) checker_.begin(grid.check, linear_block, n_);
    for (int i; (i = ready_.pop()) >= 0;) resume(fibers_[static_cast<unsigned>(i)]);
    if (done_ != n_) deadlock();
    if (grid.check) checker_.end();
    grid_ = nullptr;
  }

  int block_barrier(Site site, int predicate) {
    Fiber& f = running();
    if (barrier_arrived_ == 0) {
      barrier_site_ = site;
      barrier_count_ = 0;
    } else if (!same_site(barrier_site_, site)) {
      die(
          format("%s: thread %u waits at __syncthreads at %s while %u threads wait at "
                 "__syncthreads at %s: a barrier must be reached by the whole block at the same "
                 "place",
                 where().c_str(), f.linear, site_string(site).c_str(), barrier_arrived_,
                 site_string(barrier_site_).c_str()));
    }
    barrier_count_ += predicate != 0;
    f.state = State::kBlockBarrier;
    if (++barrier_arrived_ == n_) {
      barrier_arrived_ = 0;
      if (grid_->check) checker_.barrier();
      for (unsigned i = 0; i < n_; ++i) {
        fibers_[i].state = State::kReady;
        fibers_[i].result = barrier_count_;
        ready_.push(i);
      }
    }
    suspend();
    return f.result;
  }

  WarpResult warp_op(Site site, WarpOp op, unsigned mask, uint64_t bits, int operand, int width) {
    Fiber& f = running();
    const unsigned lane = f.linear % kWarp;
    const unsigned warp = f.linear / kWarp;
    WarpState& ws = warps_[warp];
    if (!(mask >> lane & 1u)) {
      die(
          format("%s: lane %u of warp %u calls %s at %s with mask 0x%08x, which does not "
                 "include the lane itself",
                 where().c_str(), lane, warp, op_name(op), site_string(site).c_str(), mask));
    }
    if (is_shuffle(op) && (width < 1 || width > kWarp || (width & (width - 1)) != 0)) {
      die(format("%s: %s at %s with width %d: the width must be a power of two up to 32",
                 where().c_str(), op_name(op), site_string(site).c_str(), width));
    }
    PendingOp* pending = nullptr;
    for (PendingOp& q : ws.pending) {
      if ((q.mask & mask) == 0) continue;
      if (q.mask != mask || q.op != op || q.width != width) {
        die(
            format("%s: warp %u disagrees: lane %u calls %s at %s with mask 0x%08x while lanes "
                   "0x%08x wait at %s at %s with mask 0x%08x",
                   where().c_str(), warp, lane, op_name(op), site_string(site).c_str(), mask,
                   q.arrived, op_name(q.op), site_string(q.site).c_str(), q.mask));
      }
      pending = &q;
      break;
    }
    if (!pending) {
      ws.pending.push_back(PendingOp{op, mask, 0, width, site});
      pending = &ws.pending.back();
    }
    pending->arrived |= 1u << lane;
    ws.value[lane] = bits;
    ws.operand[lane] = operand;
    f.state = State::kWarpOp;
    try_complete(warp, static_cast<size_t>(pending - ws.pending.data()));
    suspend();
    return WarpResult{ws.result[lane], (ws.undefined >> lane & 1u) != 0};
  }

  unsigned active_mask() {
    const Fiber& f = running();
    const WarpState& ws = warps_[f.linear / kWarp];
    return ws.exists & ~ws.exited;
  }

  // Called on the fiber when its kernel body has returned.
  void exit_current() {
    Fiber& f = *current_;
    f.state = State::kDone;
    ++done_;
    const unsigned warp = f.linear / kWarp;
    WarpState& ws = warps_[warp];
    ws.exited |= 1u << (f.linear % kWarp);
    // CUDA excuses exited lanes from a mask: an operation may now be complete without them.
    for (size_t k = ws.pending.size(); k-- > 0;) try_complete(warp, k);
  }

  // Switch from the running fiber back to the scheduler.
  void suspend() {
    Fiber* f = current_;
    start_switch(&f->fake_stack, main_bottom_, main_size_);
    const transfer_t t = jump_fcontext(scheduler_, nullptr);
    scheduler_ = t.fctx;
    finish_switch(f->fake_stack, nullptr, nullptr);
  }

  // First entry of a fresh fiber.
  void enter(transfer_t t) {
    scheduler_ = t.fctx;
    finish_switch(nullptr, &main_bottom_, &main_size_);
  }

  const std::function<void()>& body() const { return *grid_->body; }

 private:
  Fiber& running() {
    if (!current_) die("a __syncthreads, __syncwarp or warp shuffle/vote ran outside a kernel");
    return *current_;
  }

  std::string where() const {
    return format("block (%u,%u,%u) of the kernel launched at %s", block_.x, block_.y, block_.z,
                  site_string(grid_->params->site).c_str());
  }

  void resume(Fiber& f) {
    current_ = &f;
    tls_thread_idx = f.tid;
    if (grid_->check) checker_.enter(f.linear, f.stack_bottom, f.stack_size);
    void* fake = nullptr;
    start_switch(&fake, f.stack_bottom, f.stack_size);
    const transfer_t t = jump_fcontext(f.ctx, this);
    finish_switch(fake, nullptr, nullptr);
    f.ctx = t.fctx;
    if (grid_->check) checker_.leave();
    current_ = nullptr;
  }

  void ensure_fibers(unsigned n) {
    fibers_.reserve(kMaxBlockThreads);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    while (fibers_.size() < n) {
      Fiber f;
      f.mapping_bytes = stack_bytes_ + page;
      f.mapping = mmap(nullptr, f.mapping_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (f.mapping == MAP_FAILED) die("cannot map a fiber stack");
      // Stacks grow down: the guard page below turns an overflow into a fault at the culprit.
      mprotect(f.mapping, page, PROT_NONE);
      f.stack_bottom = static_cast<char*>(f.mapping) + page;
      f.stack_size = stack_bytes_;
      f.ctx = make_fcontext(static_cast<char*>(f.stack_bottom) + f.stack_size, f.stack_size,
                            fiber_entry);
      fibers_.push_back(f);
    }
  }

  void prepare_shared(size_t bytes) {
    if (shared_ == nullptr || shared_bytes_ != bytes) {
      std::free(shared_);
      // Exactly the launch's size, so that AddressSanitizer reports a write past its end.
      void* p = nullptr;
      if (posix_memalign(&p, 128, std::max<size_t>(bytes, 1)) != 0) die("out of memory");
      shared_ = static_cast<unsigned char*>(p);
      shared_bytes_ = bytes;
    }
    // Uninitialised shared memory reads as NaN.
    static constexpr unsigned char kNaN[4] = {0x00, 0x00, 0xc0, 0x7f};
    for (size_t i = 0; i < bytes; ++i) shared_[i] = kNaN[i % 4];
    tls_dynamic_shared = shared_;
  }

  void try_complete(unsigned warp, size_t k) {
    WarpState& ws = warps_[warp];
    const PendingOp q = ws.pending[k];
    const unsigned live = q.mask & ws.exists & ~ws.exited;
    if (q.arrived != live) return;
    ws.pending.erase(ws.pending.begin() + static_cast<std::ptrdiff_t>(k));
    if (grid_->check) {
      // synccheck: a mask must name only lanes that take part; exited lanes are excused from
      // the wait (as on the device), not from the check.
      if (q.mask != live) checker_.bad_mask(q.site, q.op, warp, q.mask, q.mask & ~live);
      checker_.warp_sync(warp, live);
    }
    deliver(ws, q, live);
    for (unsigned lane = 0; lane < kWarp; ++lane) {
      if (!(live >> lane & 1u)) continue;
      fibers_[warp * kWarp + lane].state = State::kReady;
      ready_.push(warp * kWarp + lane);
    }
  }

  // The results of a complete operation, for every lane that took part.
  static void deliver(WarpState& ws, const PendingOp& q, unsigned live) {
    uint64_t agg = 0;
    unsigned votes = 0;
    switch (q.op) {
      case WarpOp::kBallot:
      case WarpOp::kAny:
      case WarpOp::kAll:
        for (unsigned l = 0; l < kWarp; ++l)
          if ((live >> l & 1u) && ws.value[l]) votes |= 1u << l;
        agg = q.op == WarpOp::kBallot ? votes : q.op == WarpOp::kAny ? votes != 0 : votes == live;
        break;
      case WarpOp::kReduceAdd:
      case WarpOp::kReduceMinU:
      case WarpOp::kReduceMaxU:
      case WarpOp::kReduceMinI:
      case WarpOp::kReduceMaxI:
      case WarpOp::kReduceAnd:
      case WarpOp::kReduceOr:
      case WarpOp::kReduceXor: {
        bool first = true;
        uint32_t acc = 0;
        for (unsigned l = 0; l < kWarp; ++l) {
          if (!(live >> l & 1u)) continue;
          const uint32_t v = static_cast<uint32_t>(ws.value[l]);
          if (first) {
            acc = v;
            first = false;
            continue;
          }
          switch (q.op) {
            case WarpOp::kReduceAdd:
              acc += v;
              break;
            case WarpOp::kReduceMinU:
              acc = std::min(acc, v);
              break;
            case WarpOp::kReduceMaxU:
              acc = std::max(acc, v);
              break;
            case WarpOp::kReduceMinI:
              acc = static_cast<int32_t>(v) < static_cast<int32_t>(acc) ? v : acc;
              break;
            case WarpOp::kReduceMaxI:
              acc = static_cast<int32_t>(v) > static_cast<int32_t>(acc) ? v : acc;
              break;
            case WarpOp::kReduceAnd:
              acc &= v;
              break;
            case WarpOp::kReduceOr:
              acc |= v;
              break;
            default:
              acc ^= v;
              break;
          }
        }
        agg = acc;
        break;
      }
      default:
        break;
    }
    // The source lane of a shuffle follows PTX's shfl.sync: CUDA passes the clamp value
    // ((32 - width) << 8) | (up ? 0 : 31), so the segment mask is 32 - width.
    const int segmask = kWarp - q.width;
    for (unsigned l = 0; l < kWarp; ++l) {
      if (!(live >> l & 1u)) continue;
      ws.undefined &= ~(1u << l);
      if (!is_shuffle(q.op)) {
        ws.result[l] = agg;
        continue;
      }
      const int lane = static_cast<int>(l);
      const int b = ws.operand[l];
      const int clamp = q.op == WarpOp::kShflUp ? 0 : kWarp - 1;
      const int max_lane = (lane & segmask) | (clamp & ~segmask);
      const int min_lane = lane & segmask;
      int j = lane;
      bool in_range = false;
      switch (q.op) {
        case WarpOp::kShflUp:
          j = lane - b;
          in_range = j >= max_lane;
          break;
        case WarpOp::kShflDown:
          j = lane + b;
          in_range = j <= max_lane;
          break;
        case WarpOp::kShflXor:
          j = lane ^ b;
          in_range = j <= max_lane;
          break;
        default:
          j = min_lane | (b & ~segmask & (kWarp - 1));
          in_range = j <= max_lane;
          break;
      }
      if (!in_range) j = lane;
      if (live >> j & 1u) {
        ws.result[l] = ws.value[j];
      } else {
        ws.undefined |= 1u << l;  // CUDA: reading an inactive lane gives an undefined value
        ws.result[l] = 0;
      }
    }
  }

  // No fiber can run, yet some have not finished: say who waits where, and who is missing.
  [[noreturn]] void deadlock() {
    std::string msg = format("%s cannot finish (schedule %s):", where().c_str(),
                             to_string(grid_->schedule).c_str());
    std::vector<unsigned> at_barrier, exited;
    for (unsigned i = 0; i < n_; ++i) {
      if (fibers_[i].state == State::kBlockBarrier) at_barrier.push_back(i);
      if (fibers_[i].state == State::kDone) exited.push_back(i);
    }
    if (!at_barrier.empty()) {
      msg += format("\n  __syncthreads at %s was reached by %zu of %u threads (%s)",
                    site_string(barrier_site_).c_str(), at_barrier.size(), n_,
                    ranges(at_barrier).c_str());
    }
    for (unsigned w = 0; w < warps_.size() && w * kWarp < n_; ++w) {
      for (const PendingOp& q : warps_[w].pending) {
        const unsigned missing = q.mask & warps_[w].exists & ~warps_[w].exited & ~q.arrived;
        msg += format(
            "\n  warp %u: lanes 0x%08x wait at %s at %s (mask 0x%08x); lanes 0x%08x of "
            "the mask are elsewhere",
            w, q.arrived, op_name(q.op), site_string(q.site).c_str(), q.mask, missing);
      }
    }
    if (!exited.empty()) {
      msg += format("\n  %zu threads exited (%s)", exited.size(), ranges(exited).c_str());
    }
    die(msg);
  }

  size_t stack_bytes_;
  std::vector<Fiber> fibers_;
  std::vector<WarpState> warps_;
  ReadySet ready_;
  Fiber* current_ = nullptr;
  fcontext_t scheduler_ = nullptr;
  const void* main_bottom_ = nullptr;
  size_t main_size_ = 0;
  const GridInfo* grid_ = nullptr;
  uint3 block_{};
  unsigned n_ = 0;
  unsigned done_ = 0;
  unsigned barrier_arrived_ = 0;
  int barrier_count_ = 0;
  Site barrier_site_{"?", 0};
  unsigned char* shared_ = nullptr;
  size_t shared_bytes_ = 0;
  check::Block checker_;
};

Worker& worker() {
  thread_local Worker w;
  return w;
}

void fiber_entry(transfer_t t) {
  Worker* w = static_cast<Worker*>(t.data);
  w->enter(t);
  for (;;) {
    w->body()();
    w->exit_current();
    w->suspend();
  }
}

// Worker threads beyond the launching one, which runs blocks too.
class Pool {
 public:
  explicit Pool(int helpers) {
    for (int i = 0; i < helpers; ++i) threads_.emplace_back([this, i] { loop(i); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int helpers() const { return static_cast<int>(threads_.size()); }

  // Runs work on the calling thread and on `wanted` helpers; returns when all are done.
  void run(const std::function<void()>& work, int wanted) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      work_ = &work;
      wanted_ = wanted;
      pending_ = wanted;
      ++generation_;
    }
    wake_.notify_all();
    work();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_ == 0; });
    work_ = nullptr;
  }

 private:
  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void()>* work = nullptr;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (index >= wanted_) continue;
        work = work_;
      }
      (*work)();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        --pending_;
      }
      done_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void()>* work_ = nullptr;
  uint64_t generation_ = 0;
  int wanted_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

struct Settings {
  std::mutex mutex;
  ScheduleSpec schedule;
  int threads = 0;
  std::unique_ptr<Pool> pool;  // sized threads - 1, rebuilt when threads changes
};

Settings& settings() {
  static Settings* s = [] {
    auto* out = new Settings;
    if (const char* env = std::getenv("XENT_SIMT_SCHEDULE")) {
      if (!parse_schedule(env, &out->schedule)) {
        die(format("XENT_SIMT_SCHEDULE=%s: expected greedy, lockstep, reversed or random[:seed]",
                   env));
      }
    }
    out->threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (const char* env = std::getenv("XENT_SIMT_THREADS")) {
      const long v = std::strtol(env, nullptr, 10);
      if (v < 1 || v > 4096) die(format("XENT_SIMT_THREADS=%s: expected a positive integer", env));
      out->threads = static_cast<int>(v);
    }
    return out;
  }();
  return *s;
}

// One grid runs at a time: blocks of one launch fill the pool, and launches are ordered anyway.
std::mutex& launch_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

bool parse_schedule(const std::string& text, ScheduleSpec* out) {
  ScheduleSpec spec;
  if (text == "lockstep") {
    spec.kind = Schedule::kLockstep;
  } else if (text == "greedy") {
    spec.kind = Schedule::kGreedy;
  } else if (text == "reversed") {
    spec.kind = Schedule::kReversed;
  } else if (text.rfind("random", 0) == 0) {
    spec.kind = Schedule::kRandom;
    if (text.size() > 6) {
      if (text[6] != ':' || text.size() == 7) return false;
      char* end = nullptr;
      spec.seed = std::strtoull(text.c_str() + 7, &end, 0);
      if (*end != '\0') return false;
    }
  } else {
    return false;
  }
  *out = spec;
  return true;
}

std::string to_string(const ScheduleSpec& spec) {
  switch (spec.kind) {
    case Schedule::kLockstep:
      return "lockstep";
    case Schedule::kGreedy:
      return "greedy";
    case Schedule::kReversed:
      return "reversed";
    case Schedule::kRandom:
      return format("random:%llu", static_cast<unsigned long long>(spec.seed));
  }
  return "?";
}

ScheduleSpec schedule() {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.schedule;
}

void set_schedule(const ScheduleSpec& spec) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.schedule = spec;
}

int worker_threads() {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.threads;
}

void set_worker_threads(int n) {
  Settings& s = settings();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.threads = std::max(1, n);
}

int block_barrier(Site site, int predicate) { return worker().block_barrier(site, predicate); }

WarpResult warp_op(Site site, WarpOp op, unsigned mask, uint64_t bits, int operand, int width) {
  return worker().warp_op(site, op, mask, bits, operand, width);
}

unsigned active_mask() { return worker().active_mask(); }

bool in_kernel() { return worker().current() != nullptr; }

namespace detail {

void run_grid(const LaunchParams& params, const std::function<void()>& body) {
  if (in_kernel()) die("a kernel launched a kernel: dynamic parallelism is not emulated");
  std::lock_guard<std::mutex> launch_lock(launch_mutex());
  Settings& s = settings();
  Pool* pool = nullptr;
  std::unique_ptr<check::Launch> checker;
  if (check::wanted(params)) checker = std::make_unique<check::Launch>(params);
  GridInfo grid{&params, &body, {}, checker.get()};
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    grid.schedule = s.schedule;
    if (!s.pool || s.pool->helpers() != s.threads - 1) {
      s.pool.reset();
      s.pool = std::make_unique<Pool>(s.threads - 1);
    }
    pool = s.pool.get();
  }
  const uint64_t blocks = uint64_t{params.grid.x} * params.grid.y * params.grid.z;
  std::atomic<uint64_t> next{0};
  const std::function<void()> work = [&] {
    Worker& w = worker();
    for (uint64_t b; (b = next.fetch_add(1, std::memory_order_relaxed)) < blocks;) {
      w.run_block(grid, b);
    }
  };
  const int helpers = static_cast<int>(std::min<uint64_t>(pool->helpers(), blocks - 1));
  if (helpers == 0) {
    work();
  } else {
    pool->run(work, helpers);
  }
  if (checker) checker->finish();
}

}  // namespace detail
}  // namespace xent::simt
