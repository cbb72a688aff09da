#pragma once
#include "cpu/thread_pool.h"
#include "xent/backend.h"

namespace xent {

class CpuBackend final : public Backend {
 public:
  // threads: how many threads the ops split over (>= 1); the results do not depend on it.
  explicit CpuBackend(int threads = 1);
  std::string name() const override { return "cpu"; }
  int threads() const { return pool_.threads(); }
  int replica_group(int K) const override;
  void* allocate(size_t bytes) override;
  void release(void* p) override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void download(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  XENT_OVERRIDE_OPS

 private:
  cpu::ThreadPool pool_;
};

}  // namespace xent
