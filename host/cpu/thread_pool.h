// The CPU backend's threads: a fork-join pool that splits an op's outputs into contiguous
// blocks, one per thread, the calling thread taking the first.
//
// Determinism is the ops' job and the pool's contract makes it easy: run(tasks, fn) calls
// fn(begin, end) on disjoint ranges that cover [0, tasks) exactly once, and an op only ever
// splits what it writes (rows, columns, replicas, elements), never the order of a sum, so its
// result is the same for every thread count.
//
// Workers spin for a short while after a block (the next op of a training step follows within
// microseconds), then sleep on a futex (std::atomic::wait) until the next run. A run issued
// from inside a block, or while another thread's run is in flight, runs serially on its caller.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace xent::cpu {

class ThreadPool {
 public:
  // threads >= 1: the caller plus threads - 1 workers.
  explicit ThreadPool(int threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // fn(begin, end) over [0, tasks) in at most threads() contiguous blocks of at least `grain`
  // tasks each (fewer blocks when tasks are few), returning once every block has run. Block b
  // of B is [b * tasks / B, (b + 1) * tasks / B). If fn throws, run rethrows the first
  // exception once every block has ended.
  template <class F>
  void run(int64_t tasks, int64_t grain, const F& fn) {
    const int64_t blocks = std::min<int64_t>(threads_, tasks / std::max<int64_t>(grain, 1));
    if (blocks <= 1) {
      if (tasks > 0) fn(int64_t{0}, tasks);
      return;
    }
    dispatch(tasks, static_cast<int>(blocks), &call<F>, &fn);
  }

  // fn(task) for every task in [0, tasks), each thread taking the next task not yet taken:
  // for tasks of unequal cost (list the largest first). Which thread runs a task never
  // changes what the task computes. Exceptions as for run.
  template <class F>
  void run_each(int64_t tasks, const F& fn) {
    std::atomic<int64_t> next{0};
    run(std::min<int64_t>(threads_, tasks), 1, [&](int64_t, int64_t) {
      for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < tasks;) fn(t);
    });
  }

  // The pool of one thread (no workers) that the CPU twins use unless given another.
  static ThreadPool& serial();

 private:
  using Call = void (*)(const void* fn, int64_t begin, int64_t end);
  template <class F>
  static void call(const void* fn, int64_t begin, int64_t end) {
    (*static_cast<const F*>(fn))(begin, end);
  }
  struct alignas(64) Slot {
    std::atomic<uint64_t> go{0};  // bumped to hand the worker a block
  };
  void dispatch(int64_t tasks, int blocks, Call entry, const void* fn);
  void run_block(int b);
  void work(int index);

  int threads_;
  std::unique_ptr<Slot[]> slots_;  // one per worker; worker i runs block i + 1
  std::vector<std::thread> workers_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stopping_{false};
  alignas(64) std::atomic<int> pending_{0};  // blocks handed out and not yet finished
  // The run in flight, written before the slots are bumped (release) and read after (acquire).
  Call call_ = nullptr;
  const void* fn_ = nullptr;
  int64_t tasks_ = 0;
  int blocks_ = 0;
  std::mutex error_mutex_;
  std::exception_ptr error_;  // the first exception a block threw
};

// The pieces of a block [begin, end) of the rows of K replicas of n rows each (flattened as
// [K][n]) that fall within one replica: f(k, r0, r1) for rows [r0, r1) of replica k.
template <class F>
void for_rows(int64_t n, int64_t begin, int64_t end, const F& f) {
  for (int64_t i = begin; i < end;) {
    const int64_t k = i / n;
    const int64_t r0 = i - k * n;
    const int64_t r1 = std::min(n, r0 + (end - i));
    f(k, r0, r1);
    i += r1 - r0;
  }
}

}  // namespace xent::cpu
