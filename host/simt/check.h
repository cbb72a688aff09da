// The race and barrier checker, between the scheduler (which says who runs and when threads
// synchronise) and the memory hooks (host/simt/hooks.cpp, which say who touched which word).
//
// Happens-before inside a block has two sources: a __syncthreads orders everything before it
// against everything after it (an epoch per block), and a warp operation orders the lanes that
// took part in it (a vector clock per thread over the lanes of its warp). Two accesses of one
// 4-byte word by different threads, at least one a write and not both atomic, that neither
// orders are a hazard. Across blocks nothing orders plain accesses within a launch: a block's
// words are summarised when it finishes and compared with the other blocks' summaries.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "simt.h"

namespace xent::simt::check {

constexpr uint32_t kNone = 0xffffffffu;
constexpr uint64_t kNoBlock = ~uint64_t{0};

// One side of a hazard: which thread, where in the code (a return address into the kernel, or
// a switch point's site), and what it did.
struct Party {
  uint64_t block = kNoBlock;
  uint32_t thread = kNone;
  uintptr_t pc = 0;
  bool write = false;
  bool atomic = false;
};

struct RawHazard {
  uintptr_t address;  // the word's first byte
  bool global;        // in a device allocation, else shared (static or dynamic)
  Party first, second;
};

// A warp operation whose mask names lanes that did not take part in it.
struct RawSync {
  Site site;
  WarpOp op;
  uint64_t block;
  unsigned warp, mask, absent;
};

// Open addressing over word addresses with generation-stamped slots, so that clearing between
// blocks costs nothing however many words the last block touched.
template <typename V>
class WordTable {
 public:
  WordTable() { slots_.resize(kInitial); }
  void clear();
  V& at(uintptr_t word, bool* fresh);
  template <typename F>
  void for_each(F f) {
    for (Slot& s : slots_)
      if (s.gen == gen_) f(s.word, s.value);
  }

 private:
  static constexpr size_t kInitial = 1024;
  struct Slot {
    uintptr_t word = 0;
    uint32_t gen = 0;
    V value;
  };
  static size_t hash(uintptr_t word, size_t mask) {
    return static_cast<size_t>((word * 0x9e3779b97f4a7c15ull) >> 20) & mask;
  }
  void grow();
  std::vector<Slot> slots_;
  uint32_t gen_ = 1;
  size_t used_ = 0;
};

// One access as the shadow of a word keeps it.
struct Access {
  uintptr_t pc = 0;
  uint32_t thread = kNone;
  uint32_t clock = 0;  // the thread's own warp clock when it accessed
  uint32_t epoch = 0;  // the block's barrier count when it accessed
  uint8_t bytes = 0;   // which of the word's four bytes
  bool atomic = false;
};

struct Rep {
  uintptr_t pc = 0;
  uint32_t thread = kNone;
};

struct BlockWord {
  Access write;
  Access read[2];                       // two readers, so that a writer always finds another
  Rep plain_write, plain_read, atomic;  // the block's first of each, for the cross-block check
  bool reported = false;
};

struct GlobalRep {
  uintptr_t pc = 0;
  uint64_t block = kNoBlock;
  uint32_t thread = kNone;
};

struct GlobalWord {
  GlobalRep write, read[2], atomic[2];  // two blocks each, so that a third always finds another
  bool reported = false;
};

// One checked launch: the device allocations it may touch, the words every finished block
// touched in them, and what was found.
class Launch {
 public:
  explicit Launch(const LaunchParams& params);
  bool is_global(uintptr_t address) const;
  void merge_block(uint64_t block, WordTable<BlockWord>& words);
  void add(const RawHazard& h);
  void add(const RawSync& s);
  // Reports what was found: to a capture when a test holds one, else to stderr, then aborts.
  void finish();

 private:
  void merge_word(uint64_t block, uintptr_t word, const BlockWord& w);
  const LaunchParams& params_;
  std::vector<std::pair<uintptr_t, uintptr_t>> device_;  // [begin, end), sorted
  std::mutex mutex_;
  WordTable<GlobalWord> words_;
  std::vector<RawHazard> hazards_;
  std::vector<RawSync> syncs_;
};

// One worker's view of the block it runs. The scheduler calls the methods below; the memory
// hooks call access() on the running fiber.
class Block {
 public:
  void begin(Launch* launch, uint64_t block, unsigned threads);
  void end();
  // Around each fiber's run: who is running, and its stack (never shared, never checked).
  void enter(unsigned thread, const void* stack, size_t stack_bytes);
  void leave();
  void barrier() { ++epoch_; }
  void warp_sync(unsigned warp, unsigned lanes);
  void bad_mask(Site site, WarpOp op, unsigned warp, unsigned mask, unsigned absent);
  void access(uintptr_t address, size_t size, bool write, bool atomic, uintptr_t pc);

 private:
  bool ordered(const Access& a) const;
  void hazard(uintptr_t word, const Access& earlier, bool earlier_write, const Access& now,
              bool now_write, BlockWord& w);
  Launch* launch_ = nullptr;
  uint64_t block_ = 0;
  unsigned threads_ = 0;
  unsigned thread_ = 0;
  uintptr_t stack_ = 0;
  size_t stack_bytes_ = 0;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> clocks_;  // threads x 32: thread t's view of each lane of its warp
  WordTable<BlockWord> words_;
};

// The block whose fiber is running on this OS thread, while its launch is checked.
inline thread_local Block* tls_block = nullptr;

// Whether launches are checked now (XENT_SIMT_CHECK, set_checking, a capture).
bool enabled();
// Called by the hooks when instrumented code starts: memory accesses will be seen.
void note_instrumented();

}  // namespace xent::simt::check
