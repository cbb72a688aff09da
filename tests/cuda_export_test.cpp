// cuda::ExportPool (host/cuda/export_pool.h): buffers handed to a consumer's stream and reused
// in stream order. In xent_tests on the SIMT emulator (synchronous streams: the bookkeeping);
// in xent_gpu_tests on a GPU, where the consumer's stream is held back by a sleeping host
// function, so that a missing wait shows as the wrong bytes.
#include "kernel_harness.h"
//
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/export_pool.h"

namespace xent {
namespace {

constexpr size_t kBytes = 4096;

std::vector<unsigned char> bytes_of(cuda::CudaBackend& b, const void* p) {
  std::vector<unsigned char> h(kBytes);
  b.download(h.data(), p, kBytes);
  return h;
}

void fill(cuda::CudaBackend& b, void* p, int value) {
  ASSERT_EQ(cudaMemsetAsync(p, value, kBytes, b.stream()), cudaSuccess);
}

// A stream of the consumer's own, as torch's current stream would be.
struct ConsumerStream {
  cudaStream_t s = nullptr;
  ConsumerStream() {
    if (cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) != cudaSuccess)
      throw std::runtime_error("cudaStreamCreateWithFlags failed");
  }
  ~ConsumerStream() {
    cudaStreamSynchronize(s);
    cudaStreamDestroy(s);
  }
  ConsumerStream(const ConsumerStream&) = delete;
  ConsumerStream& operator=(const ConsumerStream&) = delete;
};

void sleep_ms(void* ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(*static_cast<int*>(ms)));
}

// More leases alive at once than the pool has ever held: each gets a buffer of its own, a
// released buffer is the only one reused, and the live ones keep their bytes.
TEST(ExportPool, ReusesOnlyReleasedBuffersWhateverNumberIsAlive) {
  XENT_REQUIRE_DEVICE();
  auto backend = std::make_shared<cuda::CudaBackend>();
  cuda::ExportPool pool(backend, kBytes);
  const ConsumerStream stream;
  const cudaStream_t consumer = stream.s;
  std::vector<std::shared_ptr<cuda::ExportPool::Lease>> live;
  for (int i = 0; i < 6; ++i) {
    live.push_back(pool.acquire());
    fill(*backend, live.back()->data(), i + 1);
    live.back()->export_to(i % 2 ? consumer : cudaStreamLegacy);
  }
  EXPECT_EQ(pool.buffers(), 6u);
  std::set<void*> all, released;
  for (const auto& l : live) all.insert(l->data());
  EXPECT_EQ(all.size(), 6u);
  for (int i : {1, 3, 5}) {
    released.insert(live[static_cast<size_t>(i)]->data());
    live[static_cast<size_t>(i)].reset();
  }
  std::vector<std::shared_ptr<cuda::ExportPool::Lease>> more;
  for (int i = 0; i < 5; ++i) {
    more.push_back(pool.acquire());
    fill(*backend, more.back()->data(), 100 + i);
    more.back()->export_to(cudaStreamPerThread);
  }
  for (int i = 0; i < 3; ++i) EXPECT_EQ(released.count(more[static_cast<size_t>(i)]->data()), 1u);
  for (int i = 3; i < 5; ++i) EXPECT_EQ(all.count(more[static_cast<size_t>(i)]->data()), 0u);
  EXPECT_EQ(pool.buffers(), 8u);
  for (int i : {0, 2, 4})
    EXPECT_EQ(bytes_of(*backend, live[static_cast<size_t>(i)]->data()),
              std::vector<unsigned char>(kBytes, static_cast<unsigned char>(i + 1)))
        << "live lease " << i;
}

// The rule both ways: a consumer's stream reads what xent queued before the export, even when
// the backend's stream runs late, and a reused buffer is written only after what the consumer
// queued before releasing it, even when the consumer's stream runs late.
TEST(ExportPool, ExportAndReuseAreOrderedWithTheConsumersStream) {
  XENT_REQUIRE_DEVICE();
  auto backend = std::make_shared<cuda::CudaBackend>();
  cuda::ExportPool pool(backend, kBytes);
  const ConsumerStream stream;
  const cudaStream_t consumer = stream.s;
  void* seen = nullptr;
  ASSERT_EQ(cudaMalloc(&seen, 2 * kBytes), cudaSuccess);
  auto* first = static_cast<unsigned char*>(seen);
  int ms = 200;

  auto lease = pool.acquire();
  void* const p = lease->data();
  ASSERT_EQ(cudaLaunchHostFunc(backend->stream(), sleep_ms, &ms), cudaSuccess);
  fill(*backend, p, 1);  // late on the backend's stream
  lease->export_to(consumer);
  ASSERT_EQ(cudaMemcpyAsync(first, p, kBytes, cudaMemcpyDeviceToDevice, consumer), cudaSuccess);
  ASSERT_EQ(cudaLaunchHostFunc(consumer, sleep_ms, &ms), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(first + kBytes, p, kBytes, cudaMemcpyDeviceToDevice, consumer),
            cudaSuccess);  // late on the consumer's stream
  lease.reset();
  auto again = pool.acquire();
  ASSERT_EQ(again->data(), p);
  fill(*backend, p, 2);
  ASSERT_EQ(cudaStreamSynchronize(consumer), cudaSuccess);
  backend->synchronize();
  std::vector<unsigned char> h(2 * kBytes);
  ASSERT_EQ(cudaMemcpy(h.data(), seen, 2 * kBytes, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(std::vector<unsigned char>(h.begin(), h.begin() + kBytes),
            std::vector<unsigned char>(kBytes, 1))
      << "the consumer read before xent's write";
  EXPECT_EQ(std::vector<unsigned char>(h.begin() + kBytes, h.end()),
            std::vector<unsigned char>(kBytes, 1))
      << "xent reused the buffer before the consumer's read";
  EXPECT_EQ(bytes_of(*backend, p), std::vector<unsigned char>(kBytes, 2));
  cudaFree(seen);
}

}  // namespace
}  // namespace xent
