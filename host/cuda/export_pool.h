// Device buffers that leave xent for a consumer working on a stream of its own (an array that
// torch takes through DLPack and reads on its current stream), reused without a device-wide
// wait: cudaFree waits for the whole device, which stalls the consumer's training at every
// batch it drops.
//
// The ownership rule. A buffer is xent's to write until it is exported, and again once the last
// Lease on it has been released. Exporting it to a consumer's stream (Lease::export_to, what
// __dlpack__(stream=s) does) makes that stream wait, through an event, for the work xent has
// queued on the buffer. Releasing the last Lease (the DLPack deleter runs when torch frees the
// tensor) records an event on every stream the buffer was exported to, and the acquire() that
// reuses the buffer makes the backend's stream wait for those events. So whatever the consumer
// queued on the stream it named before it dropped the array is done before xent writes there
// again, and nothing waits on the host. Work on any other stream must be ordered by the
// consumer, as torch's record_stream orders it for torch's own memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "cuda/cuda_backend.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {

class ExportPool {
 public:
  class Lease;
  struct State;

  // Buffers of `bytes` each, allocated on first need and kept until the pool and its last
  // lease are gone: the pool holds as many as were ever alive at once.
  ExportPool(std::shared_ptr<CudaBackend> backend, size_t bytes);

  // A buffer nobody holds, the backend's stream ordered after its earlier consumers, or a new
  // one. Work the caller queues on the backend's stream may write it at once.
  std::shared_ptr<Lease> acquire();

  size_t buffers() const;  // allocated so far
  size_t bytes() const;

 private:
  std::shared_ptr<State> state_;
};

class ExportPool::Lease {
 public:
  Lease(std::shared_ptr<State> state, size_t slot);
  ~Lease();  // hands the buffer back, stream-ordered after its consumers (see the rule above)
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

  void* data() const;
  // Orders `consumer` after the work queued on the backend's stream so far and remembers it, so
  // that the release waits for it. cudaStreamLegacy and cudaStreamPerThread are streams too.
  void export_to(cudaStream_t consumer);

 private:
  std::shared_ptr<State> state_;
  size_t slot_;
};

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
