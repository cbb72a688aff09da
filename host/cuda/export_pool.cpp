#include "cuda/export_pool.h"

#include <mutex>
#include <utility>
#include <vector>

#include "xent/error.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {

namespace {

cudaEvent_t new_event() {
  cudaEvent_t e = nullptr;
  XENT_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  return e;
}

}  // namespace

struct ExportPool::State {
  struct Slot {
    void* data = nullptr;
    cudaEvent_t ready = nullptr;  // the backend's work on the buffer, for consumers to wait on
    // The consumers of the current lease, and one event each that its release records there.
    std::vector<cudaStream_t> consumers;
    std::vector<cudaEvent_t> done;
    size_t recorded = 0;  // done[0, recorded) were recorded at the last release
  };

  State(std::shared_ptr<CudaBackend> b, size_t n) : backend(std::move(b)), bytes(n) {}
  ~State() {
    // No lease is left, so nothing of xent's uses the buffers; cudaFree waits for the device.
    for (Slot& s : slots) {
      cudaFree(s.data);
      if (s.ready) cudaEventDestroy(s.ready);
      for (cudaEvent_t e : s.done) cudaEventDestroy(e);
    }
  }

  std::shared_ptr<CudaBackend> backend;
  size_t bytes;
  mutable std::mutex mutex;  // a DLPack deleter may run on any thread
  std::vector<Slot> slots;
  std::vector<size_t> free;
};

ExportPool::ExportPool(std::shared_ptr<CudaBackend> backend, size_t bytes)
    : state_(std::make_shared<State>(std::move(backend), bytes)) {}

std::shared_ptr<ExportPool::Lease> ExportPool::acquire() {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.mutex);
  size_t slot = 0;
  if (!st.free.empty()) {
    slot = st.free.back();
    st.free.pop_back();
    State::Slot& s = st.slots[slot];
    for (size_t i = 0; i < s.recorded; ++i)
      XENT_CUDA_CHECK(cudaStreamWaitEvent(st.backend->stream(), s.done[i], 0));
    s.recorded = 0;
  } else {
    State::Slot s;
    s.data = st.backend->allocate(st.bytes);
    try {
      s.ready = new_event();
    } catch (...) {
      cudaFree(s.data);
      throw;
    }
    st.slots.push_back(std::move(s));
    slot = st.slots.size() - 1;
  }
  return std::make_shared<Lease>(state_, slot);
}

size_t ExportPool::buffers() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->slots.size();
}

size_t ExportPool::bytes() const { return state_->bytes; }

ExportPool::Lease::Lease(std::shared_ptr<State> state, size_t slot)
    : state_(std::move(state)), slot_(slot) {}

void* ExportPool::Lease::data() const { return state_->slots[slot_].data; }

void ExportPool::Lease::export_to(cudaStream_t consumer) {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.mutex);
  State::Slot& s = st.slots[slot_];
  XENT_CUDA_CHECK(cudaEventRecord(s.ready, st.backend->stream()));
  XENT_CUDA_CHECK(cudaStreamWaitEvent(consumer, s.ready, 0));
  for (cudaStream_t c : s.consumers)
    if (c == consumer) return;
  if (s.done.size() == s.consumers.size()) s.done.push_back(new_event());
  s.consumers.push_back(consumer);
}

ExportPool::Lease::~Lease() {
  State& st = *state_;
  std::lock_guard<std::mutex> lock(st.mutex);
  State::Slot& s = st.slots[slot_];
  // Destructors do not throw. An event that fails to record leaves the buffer out of the pool
  // rather than reused too early (the pool's end frees it).
  for (size_t i = 0; i < s.consumers.size(); ++i) {
    if (cudaEventRecord(s.done[i], s.consumers[i]) != cudaSuccess) {
      cudaGetLastError();
      s.consumers.clear();
      return;
    }
  }
  s.recorded = s.consumers.size();
  s.consumers.clear();
  st.free.push_back(slot_);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
