// The race and barrier checker's bookkeeping: word shadows within a block, the vector clocks
// of warp operations, and the cross-block comparison of a launch (tests/simt/check.h).
#include "check.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "internal.h"

namespace xent::simt::check {

void BlockShadow::clear() {
  used_ = 0;
  for (uintptr_t& key : cached_key_) key = ~uintptr_t{0};
  if (++gen_ != 0) return;
  // The stamp wrapped: every slot must read as empty again.
  for (Slot& slot : slots_) slot.gen = 0;
  gen_ = 1;
}

BlockWord& BlockShadow::at(uintptr_t word) {
  const uintptr_t key = word / 64;
  const size_t line = key % kCached;
  if (cached_key_[line] != key) {
    cached_[line] = find(key);
    cached_key_[line] = key;
  }
  Chunk& c = *cached_[line];
  const unsigned i = static_cast<unsigned>(word % 64);
  if (!(c.live >> i & 1u)) {
    c.live |= uint64_t{1} << i;
    c.words[i] = BlockWord();
  }
  return c.words[i];
}

BlockShadow::Chunk* BlockShadow::find(uintptr_t key) {
  if (2 * (used_ + 1) > slots_.size()) grow();
  const size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>((key * 0x9e3779b97f4a7c15ull) >> 24) & mask;;
       i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    if (slot.gen == gen_ && slot.key == key) return slot.chunk;
    if (slot.gen == gen_) continue;
    if (used_ == chunks_.size()) chunks_.push_back(std::make_unique<Chunk>());
    Chunk* c = chunks_[used_++].get();
    c->key = key;
    c->live = 0;
    slot = Slot{key, gen_, c};
    return c;
  }
}

void BlockShadow::grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.gen != gen_) continue;
    size_t i = static_cast<size_t>((slot.key * 0x9e3779b97f4a7c15ull) >> 24) & mask;
    while (slots_[i].gen == gen_) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

// ---- one block -------------------------------------------------------------------------------

void Block::begin(Launch* launch, uint64_t block, unsigned threads) {
  launch_ = launch;
  block_ = block;
  threads_ = threads;
  epoch_ = 0;
  clocks_.assign(size_t{threads} * 32, 0);
  words_.clear();
}

void Block::end() {
  launch_->merge_block(block_, words_);
  launch_ = nullptr;
}

void Block::enter(unsigned thread, const void* stack, size_t stack_bytes) {
  thread_ = thread;
  stack_ = reinterpret_cast<uintptr_t>(stack);
  stack_bytes_ = stack_bytes;
  tls_block = this;
}

void Block::leave() { tls_block = nullptr; }

// Every lane of the operation first ticks its own clock, then all take the elementwise maximum:
// afterwards each has seen every access the others made before it.
void Block::warp_sync(unsigned warp, unsigned lanes) {
  uint32_t joined[32] = {};
  for (unsigned l = 0; l < 32; ++l) {
    if (!(lanes >> l & 1u)) continue;
    uint32_t* c = &clocks_[(size_t{warp} * 32 + l) * 32];
    ++c[l];
    for (unsigned k = 0; k < 32; ++k) joined[k] = std::max(joined[k], c[k]);
  }
  for (unsigned l = 0; l < 32; ++l) {
    if (lanes >> l & 1u) std::memcpy(&clocks_[(size_t{warp} * 32 + l) * 32], joined, sizeof joined);
  }
}

void Block::bad_mask(Site site, WarpOp op, unsigned warp, unsigned mask, unsigned absent) {
  launch_->add(RawSync{site, op, block_, warp, mask, absent});
}

bool Block::ordered(const Access& a) const {
  if (a.thread == thread_ || a.epoch < epoch_) return true;
  if (a.thread / 32 != thread_ / 32) return false;
  return clocks_[size_t{thread_} * 32 + a.thread % 32] > a.clock;
}

void Block::hazard(uintptr_t word, const Access& earlier, bool earlier_write, const Access& now,
                   bool now_write, BlockWord& w) {
  if (w.reported) return;  // once per word and block; the launch keeps it once per address
  w.reported = true;
  const uintptr_t address = word * 4;
  launch_->add(RawHazard{
      address, launch_->is_global(address),
      Party{block_, earlier.thread, code_address(earlier.pc), earlier_write, earlier.atomic},
      Party{block_, now.thread, code_address(now.pc), now_write, now.atomic}});
}

void Block::access(uintptr_t address, size_t size, bool write, bool atomic, uintptr_t pc) {
  if (address - stack_ < stack_bytes_ || size == 0) return;  // the thread's own stack
  const uint32_t clock = clocks_[size_t{thread_} * 32 + thread_ % 32];
  const uint32_t code = code_offset(pc);
  const uintptr_t last = (address + size - 1) / 4;
  for (uintptr_t word = address / 4; word <= last; ++word) {
    const uintptr_t lo = std::max(address, word * 4), hi = std::min(address + size, word * 4 + 4);
    const auto bytes = static_cast<uint8_t>(((1u << (hi - lo)) - 1) << (lo - word * 4));
    BlockWord& w = words_.at(word);
    const Access now{code, static_cast<uint16_t>(thread_), bytes, atomic, clock, epoch_};
    auto conflicts = [&](const Access& a) {
      return a.thread != kNoThread && (a.bytes & bytes) && !(a.atomic && atomic) && !ordered(a);
    };
    Rep& rep = atomic ? w.atomic : write ? w.plain_write : w.plain_read;
    if (rep.thread == kNoThread) rep = Rep{code, static_cast<uint16_t>(thread_), 0};
    rep.bytes |= bytes;
    if (conflicts(w.write)) hazard(word, w.write, true, now, write, w);
    if (write) {
      for (Access& r : w.read) {
        if (conflicts(r)) hazard(word, r, false, now, true, w);
        r.thread = kNoThread;
      }
      w.write = now;
    } else {
      // Keep the first reader of the interval and the latest other one.
      const Access& r0 = w.read[0];
      const bool replace_first =
          r0.thread == kNoThread || r0.thread == thread_ || r0.epoch < epoch_;
      w.read[replace_first ? 0 : 1] = now;
    }
  }
}

// ---- one launch ------------------------------------------------------------------------------

Launch::Launch(const LaunchParams& params) : params_(params) {
  for (const auto& [begin, end] : detail::device_ranges())
    device_.push_back(Allocation{begin, end});
}

Launch::~Launch() {
  for (Allocation& a : device_) {
    if (a.words) munmap(a.words, a.bytes);
  }
}

Allocation* Launch::find(uintptr_t address) {
  auto it = std::upper_bound(device_.begin(), device_.end(), address,
                             [](uintptr_t a, const Allocation& r) { return a < r.begin; });
  if (it == device_.begin() || address >= std::prev(it)->end) return nullptr;
  return &*std::prev(it);
}

void Launch::merge_block(uint64_t block, BlockShadow& words) {
  std::lock_guard<std::mutex> lock(mutex_);
  Allocation* last = nullptr;  // consecutive words mostly share one
  words.for_each([&](uintptr_t word, const BlockWord& w) {
    const uintptr_t address = word * 4;
    if (!last || address < last->begin || address >= last->end) {
      last = find(address);
      if (!last) return;  // shared memory
    }
    Allocation& a = *last;
    if (!a.words) {
      // Zero pages read as "no access": every field of an empty GlobalWord is zero.
      a.bytes = (a.end - a.begin + 3) / 4 * sizeof(GlobalWord);
      void* p = mmap(nullptr, a.bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) detail::die("the race checker cannot map its shadow memory");
      a.words = static_cast<GlobalWord*>(p);
    }
    merge_word(block, word, a.words[word - a.begin / 4], w);
  });
}

void Launch::merge_word(uint64_t block, uintptr_t word, GlobalWord& g, const BlockWord& w) {
  const auto b32 = static_cast<uint32_t>(block);
  // Another block's access, to bytes that this block's access of the kind at hand overlaps.
  auto other = [b32](const GlobalRep& r, const Rep& m) {
    return r.pc != 0 && r.block != b32 && (r.bytes & m.bytes);
  };
  auto mine = [block](const Rep& r, bool write, bool atomic) {
    return Party{block, r.thread, code_address(r.pc), write, atomic};
  };
  auto theirs = [](const GlobalRep& r, bool write, bool atomic) {
    return Party{r.block, r.thread, code_address(r.pc), write, atomic};
  };
  auto report = [&](const Party& a, const Party& b) {
    if (g.reported) return;
    g.reported = true;
    hazards_.push_back(RawHazard{word * 4, true, a, b});
  };
  const Party my_write = mine(w.plain_write, true, false),
              my_read = mine(w.plain_read, false, false), my_atomic = mine(w.atomic, true, true);
  // A kind of access this block did not make has no bytes, so it clashes with nothing.
  auto clash = [&](const GlobalRep& r, bool their_write, bool their_atomic, const Rep& m,
                   const Party& p) {
    if (other(r, m)) report(theirs(r, their_write, their_atomic), p);
  };
  // Another block's plain write conflicts with anything; its atomic with plain accesses; its
  // plain read with writes, atomic or not.
  clash(g.write, true, false, w.plain_write, my_write);
  clash(g.write, true, false, w.plain_read, my_read);
  clash(g.write, true, false, w.atomic, my_atomic);
  for (const GlobalRep& a : g.atomic) {
    clash(a, true, true, w.plain_write, my_write);
    clash(a, true, true, w.plain_read, my_read);
  }
  for (const GlobalRep& r : g.read) {
    clash(r, false, false, w.plain_write, my_write);
    clash(r, false, false, w.atomic, my_atomic);
  }
  auto to_global = [b32](const Rep& r) { return GlobalRep{r.pc, b32, r.thread, r.bytes}; };
  if (w.plain_write.bytes && g.write.pc == 0) g.write = to_global(w.plain_write);
  auto remember = [&](GlobalRep(&slots)[2], const Rep& r) {
    if (!r.bytes) return;
    if (slots[0].pc == 0) {
      slots[0] = to_global(r);
    } else if (slots[0].block != b32 && slots[1].pc == 0) {
      slots[1] = to_global(r);
    }
  };
  remember(g.read, w.plain_read);
  remember(g.atomic, w.atomic);
}

void Launch::add(const RawHazard& h) {
  std::lock_guard<std::mutex> lock(mutex_);
  hazards_.push_back(h);
}

void Launch::add(const RawSync& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  syncs_.push_back(s);
}

}  // namespace xent::simt::check
