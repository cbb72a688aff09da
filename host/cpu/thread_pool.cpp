#include "cpu/thread_pool.h"

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace xent::cpu {
namespace {

// A worker spins this long for its next block before it sleeps. The ops of one training step
// follow each other within microseconds, so a training loop never pays a futex wake-up, while
// an idle pool (evaluation, file writes, a finished run) costs no CPU after this.
constexpr auto kSpin = std::chrono::microseconds(200);

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Waits until `a` differs from `old` and returns it: spinning for kSpin, then sleeping. After
// the first few hundred spins each round yields the core, so that with more threads than
// cores (another process's, or train.threads above the core count) the thread being waited
// for gets to run.
template <class T>
T wait_change(const std::atomic<T>& a, T old) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    const T v = a.load(std::memory_order_acquire);
    if (v != old) return v;
    if (i < 256) {
      relax();
      continue;
    }
    std::this_thread::yield();
    if ((i & 15) == 15 && std::chrono::steady_clock::now() > until) break;
  }
  for (;;) {
    a.wait(old, std::memory_order_acquire);
    const T v = a.load(std::memory_order_acquire);
    if (v != old) return v;
  }
}

// Set on the pool's own workers: a run issued from inside a block runs serially there.
thread_local bool in_block = false;

}  // namespace

ThreadPool::ThreadPool(int threads) : threads_(threads) {
  if (threads < 1)
    throw std::invalid_argument("ThreadPool: threads must be >= 1, got " + std::to_string(threads));
  slots_ = std::make_unique<Slot[]>(static_cast<size_t>(threads - 1));
  workers_.reserve(static_cast<size_t>(threads - 1));
  for (int i = 0; i < threads - 1; ++i) workers_.emplace_back([this, i] { work(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true, std::memory_order_release);
  for (int i = 0; i < threads_ - 1; ++i) {
    slots_[i].go.fetch_add(1, std::memory_order_release);
    slots_[i].go.notify_one();
  }
  for (std::thread& t : workers_) t.join();
}

ThreadPool& ThreadPool::serial() {
  static ThreadPool pool(1);
  return pool;
}

void ThreadPool::run_block(int b) {
  const int64_t begin = tasks_ * b / blocks_;
  const int64_t end = tasks_ * (b + 1) / blocks_;
  if (begin >= end) return;
  try {
    call_(fn_, begin, end);
  } catch (...) {
    const std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::dispatch(int64_t tasks, int blocks, Call entry, const void* fn) {
  if (in_block || busy_.exchange(true, std::memory_order_acquire)) {
    entry(fn, 0, tasks);
    return;
  }
  call_ = entry;
  fn_ = fn;
  tasks_ = tasks;
  blocks_ = blocks;
  pending_.store(blocks - 1, std::memory_order_relaxed);
  for (int b = 1; b < blocks; ++b) {
    slots_[b - 1].go.fetch_add(1, std::memory_order_release);
    slots_[b - 1].go.notify_one();
  }
  in_block = true;
  run_block(0);
  in_block = false;
  for (int left = pending_.load(std::memory_order_acquire); left != 0;)
    left = wait_change(pending_, left);
  std::exception_ptr error = std::exchange(error_, nullptr);
  busy_.store(false, std::memory_order_release);
  if (error) std::rethrow_exception(error);
}

void ThreadPool::work(int index) {
  in_block = true;
  uint64_t seen = 0;
  for (;;) {
    seen = wait_change(slots_[index].go, seen);
    if (stopping_.load(std::memory_order_acquire)) return;
    run_block(index + 1);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
  }
}

}  // namespace xent::cpu
