// The race and barrier checker, between the scheduler (which says who runs and when threads
// synchronise) and the memory hooks (tests/simt/hooks.cpp, which say who touched which word).
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
#include <memory>
#include <mutex>
#include <vector>

#include "simt.h"

namespace xent::simt::check {

constexpr uint32_t kNone = 0xffffffffu;
constexpr uint64_t kNoBlock = ~uint64_t{0};

// One side of a hazard: which thread, where in the code (the instrumented access), and what it
// did.
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

// The shadow is memory-bound, so it keeps code addresses as 32-bit offsets into the executable
// (instrumented code is linked into it statically) and threads as 16 bits (at most 1024).
extern "C" char __executable_start[];  // GNU ld: where the executable's image begins
inline uint32_t code_offset(uintptr_t pc) {
  const uintptr_t d = pc - reinterpret_cast<uintptr_t>(__executable_start);
  return d < kNone ? static_cast<uint32_t>(d) : kNone;
}
inline uintptr_t code_address(uint32_t offset) {
  return offset == kNone ? 0 : reinterpret_cast<uintptr_t>(__executable_start) + offset;
}
constexpr uint16_t kNoThread = 0xffff;

// One access as the shadow of a word keeps it.
struct Access {
  uint32_t pc = kNone;  // code_offset
  uint16_t thread = kNoThread;
  uint8_t bytes = 0;  // which of the word's four bytes
  bool atomic = false;
  uint32_t clock = 0;  // the thread's own warp clock when it accessed
  uint32_t epoch = 0;  // the block's barrier count when it accessed
};

struct Rep {
  uint32_t pc = kNone;  // code_offset
  uint16_t thread = kNoThread;
  uint8_t bytes = 0;  // every byte of the word the block accessed this way, not only the first's
};

struct BlockWord {
  Access write;
  Access read[2];                       // two readers, so that a writer always finds another
  Rep plain_write, plain_read, atomic;  // the block's first of each, for the cross-block check
  bool reported = false;
};

// The words one block touched. Kernels touch words in runs (rows, tiles, a thread's
// neighbours), so words live in chunks of 64 consecutive ones, found by a hash table over chunk
// addresses behind a small direct-mapped cache (a kernel streams through a few arrays at once).
// The next block reuses the chunks, and its first touch of a word starts the word afresh (a bit
// per word), so that clearing costs nothing.
class BlockShadow {
 public:
  BlockShadow() { clear(); }
  void clear();
  BlockWord& at(uintptr_t word);
  template <typename F>
  void for_each(F f) {
    for (size_t c = 0; c < used_; ++c) {
      Chunk& k = *chunks_[c];
      for (uint64_t bits = k.live; bits; bits &= bits - 1) {
        const unsigned i = static_cast<unsigned>(__builtin_ctzll(bits));
        f(k.key * 64 + i, k.words[i]);
      }
    }
  }

 private:
  struct Chunk {
    uintptr_t key = 0;  // word address / 64
    uint64_t live = 0;  // which words this block touched
    BlockWord words[64];
  };
  struct Slot {
    uintptr_t key = 0;
    uint32_t gen = 0;
    Chunk* chunk = nullptr;
  };
  Chunk* find(uintptr_t key);
  void grow();
  std::vector<std::unique_ptr<Chunk>> chunks_;  // the first used_ belong to the block
  size_t used_ = 0;
  std::vector<Slot> slots_ = std::vector<Slot>(256);
  uint32_t gen_ = 1;
  static constexpr size_t kCached = 8;
  uintptr_t cached_key_[kCached];
  Chunk* cached_[kCached] = {};
};

// All zero when empty (pc 0, which no code has: the executable starts with its headers), as
// the shadow of global memory starts as zero pages. Checked launches have fewer than 2^32 blocks.
struct GlobalRep {
  uint32_t pc = 0;  // code_offset
  uint32_t block = 0;
  uint16_t thread = 0;
  uint8_t bytes = 0;  // which of the word's bytes that block accessed this way
};

struct GlobalWord {
  GlobalRep write, read[2], atomic[2];  // two blocks each, so that a third always finds another
  bool reported = false;
};

// A shadow word for every word of one device allocation, for one launch: mapped on first use,
// zero pages until touched, so that it costs memory for what the launch touched only.
struct Allocation {
  uintptr_t begin, end;
  GlobalWord* words = nullptr;
  size_t bytes = 0;
};

// One checked launch: the device allocations it may touch, the words every finished block
// touched in them, and what was found.
class Launch {
 public:
  explicit Launch(const LaunchParams& params);
  ~Launch();
  Launch(const Launch&) = delete;
  Launch& operator=(const Launch&) = delete;
  bool is_global(uintptr_t address) { return find(address) != nullptr; }
  void merge_block(uint64_t block, BlockShadow& words);
  void add(const RawHazard& h);
  void add(const RawSync& s);
  // Reports what was found: to a capture when a test holds one, else to stderr, then aborts.
  void finish();

 private:
  Allocation* find(uintptr_t address);
  void merge_word(uint64_t block, uintptr_t word, GlobalWord& g, const BlockWord& w);
  const LaunchParams& params_;
  std::vector<Allocation> device_;  // sorted by address
  std::mutex mutex_;
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
  BlockShadow words_;
};

// The block whose fiber is running on this OS thread, while its launch is checked.
inline thread_local Block* tls_block = nullptr;

// Whether launches are checked now (XENT_SIMT_CHECK, set_checking, a capture).
bool enabled();
// Whether to check this launch: while a test holds a capture or XENT_SIMT_CHECK=all, every
// launch; else the first kSampledLaunches of each kernel and configuration. Tests and training
// loops repeat the same launches on other data or under other schedules, which finds little
// that the first ones did not, at the checker's full cost (docs/testing-kernels.md: the checker's
// cost).
constexpr int kSampledLaunches = 2;
bool wanted(const LaunchParams& params);
// Called by the hooks when instrumented code starts: memory accesses will be seen.
void note_instrumented();

}  // namespace xent::simt::check
