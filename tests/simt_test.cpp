// The SIMT emulator: kernels from tests/simt_kernels.cuh, compiled by g++ and run on fibers.
#if defined(XENT_HAVE_SIMT)
#include "simt_kernels.cuh"
#endif

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "xent/philox.h"

#if defined(XENT_HAVE_SIMT)

namespace {

using xent::simt::Schedule;
using xent::simt::ScheduleSpec;

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n) : n_(n) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)), cudaSuccess);
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return p_; }
  std::vector<T> download() const {
    std::vector<T> out(n_);
    EXPECT_EQ(cudaMemcpy(out.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }

 private:
  size_t n_;
  T* p_ = nullptr;
};

uint32_t bits_of(float f) {
  uint32_t b = 0;
  std::memcpy(&b, &f, sizeof b);
  return b;
}

constexpr uint32_t kNaNBits = 0x7fc00000u;

ScheduleSpec spec(Schedule kind, uint64_t seed = 0) { return ScheduleSpec{kind, seed}; }

std::vector<ScheduleSpec> every_schedule() {
  return {spec(Schedule::kLockstep),  spec(Schedule::kGreedy),    spec(Schedule::kReversed),
          spec(Schedule::kRandom, 1), spec(Schedule::kRandom, 2), spec(Schedule::kRandom, 3)};
}

// Death tests re-run the binary for the dying statement: forking a process whose worker pool
// is running threads would copy only the forking thread.
void use_threadsafe_death_tests() { GTEST_FLAG_SET(death_test_style, "threadsafe"); }

TEST(Simt, TreeSumOverRaggedBlockAndProblemSizes) {
  for (int n : {1, 1000, 4099}) {
    std::vector<float> x(static_cast<size_t>(n));
    float expected = 0.0f;  // small integers: every partial sum is exact in float
    for (int i = 0; i < n; ++i) expected += x[static_cast<size_t>(i)] = static_cast<float>(i % 7);
    DeviceBuffer<float> dx(x);
    for (unsigned block : {1u, 7u, 32u, 33u, 100u, 256u, 1000u, 1024u}) {
      SCOPED_TRACE(testing::Message() << "n " << n << " block " << block);
      constexpr unsigned kGrid = 3;
      DeviceBuffer<float> out(kGrid);
      xent::launch(simt_test::tree_sum, kGrid, block, block * sizeof(float))(dx.get(), n,
                                                                             out.get());
      ASSERT_EQ(cudaGetLastError(), cudaSuccess);
      float total = 0.0f;
      for (float v : out.download()) total += v;
      EXPECT_EQ(total, expected);
    }
  }
}

TEST(Simt, ThousandTwentyFourThreadBlocksIn3D) {
  const dim3 grid(2, 1, 2), block(32, 8, 4);
  constexpr unsigned kThreads = 1024, kBlocks = 4;
  DeviceBuffer<unsigned> ids(4 * kThreads * kBlocks);
  DeviceBuffer<float> sums(kBlocks);
  xent::launch(simt_test::block_ids, grid, block)(ids.get(), sums.get());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<unsigned> h = ids.download();
  for (unsigned b = 0; b < kBlocks; ++b) {
    for (unsigned t = 0; t < kThreads; ++t) {
      const unsigned* r = &h[4 * (b * kThreads + t)];
      ASSERT_EQ(r[0], t);
      ASSERT_EQ(r[1], t % 32);
      ASSERT_EQ(r[2], t / 32 % 8);
      ASSERT_EQ(r[3], t / 256);
    }
  }
  for (float s : sums.download()) EXPECT_EQ(s, 1023.0f * 1024.0f / 2.0f);
}

// Expected values from the CUDA programming guide's description of each shuffle, written
// independently of the emulator's PTX-style lane arithmetic.
int expected_source(int kind, int lane, int width) {
  const int base = lane / width * width;
  const int pos = lane % width;
  const int src = (3 * width) / 4 + 1;
  const int delta = width / 4 + 1;
  switch (kind) {
    case 0:
      return base + src % width;
    case 1:
      return pos >= delta ? lane - delta : lane;
    case 2:
      return pos + delta < width ? lane + delta : lane;
    default:
      return base + (pos ^ (width / 2));
  }
}

TEST(Simt, ShufflesOfEveryKindAndWidth) {
  constexpr int kCases = 20;
  DeviceBuffer<float> f(kCases * 32);
  DeviceBuffer<int> i(kCases * 32);
  DeviceBuffer<unsigned> u(kCases * 32);
  DeviceBuffer<double> d(kCases * 32);
  xent::launch(simt_test::shuffles, 1, 32)(f.get(), i.get(), u.get(), d.get());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const auto hf = f.download();
  const auto hi = i.download();
  const auto hu = u.download();
  const auto hd = d.download();
  int c = 0;
  for (int width = 32; width >= 2; width /= 2) {
    for (int kind = 0; kind < 4; ++kind, ++c) {
      for (int lane = 0; lane < 32; ++lane) {
        SCOPED_TRACE(testing::Message()
                     << "kind " << kind << " width " << width << " lane " << lane);
        const int src = expected_source(kind, lane, width);
        const size_t k = static_cast<size_t>(c * 32 + lane);
        EXPECT_EQ(hf[k], 100.0f + static_cast<float>(src));
        EXPECT_EQ(hi[k], -1000 - src);
        EXPECT_EQ(hu[k], 0x80000000u + static_cast<unsigned>(src));
        EXPECT_EQ(hd[k], 1e10 + src);
      }
    }
  }
  // A few by hand, so that a shared mistake in both formulas cannot hide.
  EXPECT_EQ(hf[0 * 32 + 5], 125.0f);  // __shfl_sync(..., 25): every lane reads lane 25
  EXPECT_EQ(hf[1 * 32 + 3], 103.0f);  // __shfl_up_sync(..., 9): lane 3 has no lane -6
  EXPECT_EQ(hf[1 * 32 + 20], 111.0f);
  EXPECT_EQ(hf[2 * 32 + 22], 31.0f + 100.0f);  // __shfl_down_sync(..., 9): lane 22 + 9
  EXPECT_EQ(hf[2 * 32 + 23], 123.0f);          // lane 32 does not exist: its own value
  EXPECT_EQ(hf[3 * 32 + 4], 120.0f);           // __shfl_xor_sync(..., 16)
  EXPECT_EQ(hf[8 * 32 + 13], 115.0f);          // width 8, src 7: lane 13 reads its segment's lane 7
}

TEST(Simt, VotesWithFullAndPartialMasks) {
  constexpr unsigned kThreads = 40;
  DeviceBuffer<unsigned> out(kThreads * 8);
  {
    // The partial warp's full-mask votes are the emulator's to get right and the checker's to
    // report (a mask naming lanes that do not exist): five of them.
    xent::simt::CheckCapture capture;
    xent::launch(simt_test::votes, 1, kThreads)(out.get());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    const auto found = capture.hazards();
    EXPECT_EQ(found.size(), 5u);
    for (const auto& f : found) EXPECT_EQ(f.kind, "warp-mask") << f.message;
  }
  const auto h = out.download();
  for (unsigned t = 0; t < kThreads; ++t) {
    SCOPED_TRACE(testing::Message() << "thread " << t);
    const unsigned* r = &h[t * 8];
    const bool full_warp = t < 32;
    EXPECT_EQ(r[0], full_warp ? 0x49249249u : 0x49u);  // lanes 0, 3, 6, ... that exist
    EXPECT_EQ(r[1], 1u);                               // lane 5 exists in both warps
    EXPECT_EQ(r[2], 1u);
    EXPECT_EQ(r[3], 0u);  // lane 7 exists in both warps
    EXPECT_EQ(r[4], full_warp ? 0xffffffffu : 0xffu);
    const unsigned lane = t % 32;
    // Warp 1's lanes 8-15 do not exist: the mask excuses them, and none of lanes 12-15 votes.
    EXPECT_EQ(r[5], !full_warp ? 0u : lane < 16 ? 0x0000f000u : 0xf0000000u);
    EXPECT_EQ(r[6], 10u);  // t % 4 == 0 for t in [0, 40)
    EXPECT_EQ(r[7], full_warp ? 496u : 28u);
  }
}

TEST(Simt, AtomicsAcrossBlocksOnSeveralWorkers) {
  const int saved = xent::simt::worker_threads();
  xent::simt::set_worker_threads(4);
  constexpr unsigned kBlocks = 64, kThreads = 128, kN = kBlocks * kThreads;
  simt_test::AtomicTotals zero{};
  std::vector<simt_test::AtomicTotals> init(1, zero);
  DeviceBuffer<simt_test::AtomicTotals> totals(init);
  xent::launch(simt_test::atomics, kBlocks, kThreads)(totals.get());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  xent::simt::set_worker_threads(saved);
  const simt_test::AtomicTotals t = totals.download()[0];
  EXPECT_EQ(t.count, static_cast<int>(kN));
  EXPECT_EQ(t.ucount, 2 * kN);
  EXPECT_EQ(t.big, static_cast<unsigned long long>(kN) << 33);
  EXPECT_EQ(t.fsum, static_cast<float>(kN / 8 * 28));  // sum of i % 8: exact in float
  EXPECT_EQ(t.dsum, kN * 0.5);
  EXPECT_EQ(t.imax, static_cast<int>(kN - 1));
  EXPECT_EQ(t.imin, -static_cast<int>(kN - 1));
  EXPECT_EQ(t.cas_count, kN);
  EXPECT_EQ(t.exch, 7);
}

TEST(Simt, FreshAllocationsAndDynamicSharedMemoryReadAsNaN) {
  DeviceBuffer<float> fresh(37);
  for (float v : fresh.download()) EXPECT_EQ(bits_of(v), kNaNBits);
  constexpr unsigned kThreads = 96;
  DeviceBuffer<float> out(kThreads);
  // The first block fills the worker's buffer; the refill must happen for every block.
  for (int launch = 0; launch < 2; ++launch) {
    xent::launch(simt_test::read_fresh_shared, 1, kThreads, kThreads * sizeof(float))(out.get());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    for (float v : out.download()) EXPECT_EQ(bits_of(v), kNaNBits);
  }
}

TEST(Simt, GridStrideLoopCoversEveryElement) {
  constexpr int kN = 10007;
  std::vector<float> x(kN), y(kN);
  for (int i = 0; i < kN; ++i) {
    x[static_cast<size_t>(i)] = static_cast<float>(i);
    y[static_cast<size_t>(i)] = 1.0f;
  }
  DeviceBuffer<float> dx(x), dy(y);
  xent::launch(simt_test::axpy, 3, 64)(kN, 2.0f, dx.get(), dy.get());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const auto h = dy.download();
  for (int i = 0; i < kN; ++i)
    ASSERT_EQ(h[static_cast<size_t>(i)], 2.0f * x[static_cast<size_t>(i)] + 1.0f) << i;
}

TEST(Simt, GraphCaptureRecordsAndReplaysLaunchesAndCopies) {
  constexpr int kN = 300;
  DeviceBuffer<float> x(std::vector<float>(kN, 0.0f));
  DeviceBuffer<float> copy(kN);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  xent::launch(simt_test::add_one, 3, 128, 0, stream)(x.get(), kN);
  xent::launch(simt_test::add_one, 3, 128, 0, stream)(x.get(), kN);
  // A host function between the launches: the CPU BLAS that stands in for cuBLAS under the
  // emulator is captured this way. It must see both launches' effect, at every replay.
  struct Seen {
    const float* x;
    std::vector<float> first;
  } seen{x.get(), {}};
  ASSERT_EQ(
      cudaLaunchHostFunc(
          stream,
          [](void* p) { static_cast<Seen*>(p)->first.push_back(static_cast<Seen*>(p)->x[0]); },
          &seen),
      cudaSuccess);
  ASSERT_EQ(
      cudaMemcpyAsync(copy.get(), x.get(), kN * sizeof(float), cudaMemcpyDeviceToDevice, stream),
      cudaSuccess);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  ASSERT_EQ(cudaStreamIsCapturing(stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  // Captured, not run.
  for (float v : x.download()) ASSERT_EQ(v, 0.0f);
  EXPECT_TRUE(seen.first.empty());
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int replay = 1; replay <= 3; ++replay) {
    ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
    const float expected = 2.0f * static_cast<float>(replay);
    for (float v : x.download()) ASSERT_EQ(v, expected);
    for (float v : copy.download()) ASSERT_EQ(v, expected);
    ASSERT_EQ(seen.first.size(), static_cast<size_t>(replay));
    EXPECT_EQ(seen.first.back(), expected);
  }
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);

  // A synchronous copy inside a capture is an error on the device, and here too.
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  std::vector<float> host(kN);
  EXPECT_EQ(cudaMemcpy(host.data(), x.get(), kN * sizeof(float), cudaMemcpyDeviceToHost),
            cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(stream, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  cudaGetLastError();
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
}

TEST(Simt, EventsTimeTheWorkBetweenThem) {
  cudaEvent_t start = nullptr, stop = nullptr;
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  DeviceBuffer<float> x(std::vector<float>(4096, 0.0f));
  ASSERT_EQ(cudaEventRecord(start, nullptr), cudaSuccess);
  xent::launch(simt_test::add_one, 16, 256)(x.get(), 4096);
  ASSERT_EQ(cudaEventRecord(stop, nullptr), cudaSuccess);
  ASSERT_EQ(cudaEventSynchronize(stop), cudaSuccess);
  float ms = -1.0f;
  ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 10000.0f);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
}

TEST(Simt, LaunchErrorsAreReportedAsOnTheDevice) {
  DeviceBuffer<float> out(2048);
  xent::launch(simt_test::read_fresh_shared, 1, 1025)(out.get());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // not sticky
  xent::launch(simt_test::read_fresh_shared, 0, 32)(out.get());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  // More than 48 KiB of dynamic shared memory needs the kernel's opt-in first.
  constexpr size_t kBig = 64 * 1024;
  xent::launch(simt_test::read_fresh_shared, 1, 32, kBig)(out.get());
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  ASSERT_EQ(
      cudaFuncSetAttribute(simt_test::read_fresh_shared,
                           cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kBig)),
      cudaSuccess);
  xent::launch(simt_test::read_fresh_shared, 1, 32, kBig)(out.get());
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  int count = 0;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
}

TEST(Simt, CurandPhiloxInAKernelMatchesXentPhilox) {
  struct Case {
    unsigned long long seed, offset;
  };
  const Case cases[] = {
      {0, 0}, {42, 1}, {42, 7}, {0xdeadbeefcafef00dull, 4ull * 0xffffffffull + 2}};
  constexpr unsigned kBlocks = 2, kThreads = 64, kN = kBlocks * kThreads;
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "seed " << c.seed << " offset " << c.offset);
    DeviceBuffer<unsigned> out(kN * 5);
    xent::launch(simt_test::philox_draws, kBlocks, kThreads)(c.seed, c.offset, out.get());
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    const auto h = out.download();
    for (unsigned t = 0; t < kN; ++t) {
      xent::Philox rng(c.seed, t, c.offset);
      for (unsigned k = 0; k < 4; ++k) ASSERT_EQ(h[t * 5 + k], rng.next_u32()) << t;
      ASSERT_EQ(h[t * 5 + 4], bits_of(rng.uniform())) << t;
    }
  }
}

TEST(SimtDeathTest, BarrierReachedByPartOfTheBlockAbortsWithItsSite) {
  use_threadsafe_death_tests();
  const std::string expected =
      "__syncthreads at [^ ]*simt_kernels.cuh:" + std::to_string(simt_test::kPartialBarrierLine) +
      " was reached by 200 of 256 threads.*56 threads exited \\(200-255\\)";
  EXPECT_DEATH(
      {
        DeviceBuffer<float> out(256);
        xent::launch(simt_test::partial_barrier, 1, 256)(200, out.get());
      },
      expected);
}

TEST(SimtDeathTest, DivergentBarriersAbortWithBothSites) {
  use_threadsafe_death_tests();
  // Lock-step order: threads 0-63 reach line A first, thread 64 then arrives at line B.
  const std::string expected = "thread 64 waits at __syncthreads at [^ ]*simt_kernels.cuh:" +
                               std::to_string(simt_test::kSplitBarrierLineB) +
                               " while 64 threads wait at __syncthreads at [^ ]*simt_kernels.cuh:" +
                               std::to_string(simt_test::kSplitBarrierLineA);
  EXPECT_DEATH(
      {
        xent::simt::ScopedSchedule order(spec(Schedule::kLockstep));
        DeviceBuffer<float> out(128);
        xent::launch(simt_test::split_barrier, 1, 128)(out.get());
      },
      expected);
}

TEST(SimtDeathTest, WarpLanesAtDifferentShufflesAbortWithBothSites) {
  use_threadsafe_death_tests();
  const std::string expected =
      "lane 16 calls __shfl_down_sync at [^ ]*simt_kernels.cuh:" +
      std::to_string(simt_test::kWarpMismatchLineB) +
      " with mask 0xffffffff while lanes 0x0000ffff wait at __shfl_xor_sync at "
      "[^ ]*simt_kernels.cuh:" +
      std::to_string(simt_test::kWarpMismatchLineA);
  EXPECT_DEATH(
      {
        xent::simt::ScopedSchedule order(spec(Schedule::kLockstep));
        DeviceBuffer<float> out(32);
        xent::launch(simt_test::warp_mismatch, 1, 32)(out.get());
      },
      expected);
}

TEST(Simt, ScheduleNamesParse) {
  ScheduleSpec s;
  ASSERT_TRUE(xent::simt::parse_schedule("greedy", &s));
  EXPECT_EQ(s.kind, Schedule::kGreedy);
  ASSERT_TRUE(xent::simt::parse_schedule("lockstep", &s));
  EXPECT_EQ(s.kind, Schedule::kLockstep);
  ASSERT_TRUE(xent::simt::parse_schedule("reversed", &s));
  EXPECT_EQ(s.kind, Schedule::kReversed);
  ASSERT_TRUE(xent::simt::parse_schedule("random", &s));
  EXPECT_EQ(s.kind, Schedule::kRandom);
  EXPECT_EQ(s.seed, 0u);
  ASSERT_TRUE(xent::simt::parse_schedule("random:1234", &s));
  EXPECT_EQ(s.seed, 1234u);
  EXPECT_EQ(xent::simt::to_string(s), "random:1234");
  EXPECT_FALSE(xent::simt::parse_schedule("random:", &s));
  EXPECT_FALSE(xent::simt::parse_schedule("random:12x", &s));
  EXPECT_FALSE(xent::simt::parse_schedule("randomly", &s));
  EXPECT_FALSE(xent::simt::parse_schedule("fifo", &s));
}

// Runs two_sums or shift_right on 256 threads and says whether the result is wrong.
bool two_sums_wrong(bool racy) {
  constexpr unsigned kThreads = 256;
  std::vector<float> x(kThreads);
  for (unsigned i = 0; i < kThreads; ++i) x[i] = static_cast<float>(i % 5);
  float first = 0.0f;
  for (float v : x) first += v;
  DeviceBuffer<float> dx(x), out(kThreads + 1);
  xent::launch(simt_test::two_sums, 1, kThreads)(dx.get(), racy, out.get());
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  const auto h = out.download();
  bool wrong = h[kThreads] != 2.0f * first;
  for (unsigned t = 0; t < kThreads; ++t) wrong = wrong || h[t] != first;
  return wrong;
}

bool shift_wrong(bool racy) {
  constexpr unsigned kThreads = 256;
  std::vector<float> x(kThreads);
  for (unsigned i = 0; i < kThreads; ++i) x[i] = static_cast<float>(i) + 0.5f;
  DeviceBuffer<float> dx(x), out(kThreads);
  xent::launch(simt_test::shift_right, 1, kThreads, kThreads * sizeof(float))(dx.get(), racy,
                                                                              out.get());
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  const auto h = out.download();
  bool wrong = h[0] != 0.0f;
  for (unsigned t = 1; t < kThreads; ++t) wrong = wrong || bits_of(h[t]) != bits_of(x[t - 1]);
  return wrong;
}

// Lock-step order runs every thread to its next switch point before any runs again, so all
// threads read the first total before any warp finishes the second reduction's shuffles: the
// missing barrier goes unnoticed. Greedy order lets warp 0 run through the second reduction and
// overwrite the scratch while warps 1-7 have yet to read it. The mirror race (reading a
// neighbour's slot before it is written) is invisible to both ascending orders and caught by
// the reversed one; a random order catches both.
TEST(Simt, SchedulesCatchMissingBarriersThatLockstepMisses) {
  // The race checker reports these whatever the order (tests/simt_check_test.cpp); here it
  // only has to keep quiet about them.
  xent::simt::CheckCapture capture;
  {
    xent::simt::ScopedSchedule order(spec(Schedule::kLockstep));
    EXPECT_FALSE(two_sums_wrong(true)) << "lock-step order is expected to miss this race";
    EXPECT_FALSE(shift_wrong(true)) << "lock-step order is expected to miss this race";
  }
  {
    xent::simt::ScopedSchedule order(spec(Schedule::kGreedy));
    EXPECT_TRUE(two_sums_wrong(true));
    EXPECT_FALSE(shift_wrong(true));
  }
  {
    xent::simt::ScopedSchedule order(spec(Schedule::kReversed));
    EXPECT_FALSE(two_sums_wrong(true));
    EXPECT_TRUE(shift_wrong(true));
  }
  {
    xent::simt::ScopedSchedule order(spec(Schedule::kRandom, 1));
    EXPECT_TRUE(two_sums_wrong(true));
    EXPECT_TRUE(shift_wrong(true));
  }
  // With the barrier in place, every order gives the right answer.
  for (const ScheduleSpec& s : every_schedule()) {
    SCOPED_TRACE(xent::simt::to_string(s));
    xent::simt::ScopedSchedule order(s);
    EXPECT_FALSE(two_sums_wrong(false));
    EXPECT_FALSE(shift_wrong(false));
  }
}

// Softmax rows against a double-precision host reference; returns the seconds the launch took.
double run_softmax(int rows, int cols) {
  std::vector<float> x(static_cast<size_t>(rows) * cols);
  std::vector<int> labels(static_cast<size_t>(rows));
  xent::Philox rng(7, 0, 0);
  for (float& v : x) v = 4.0f * rng.uniform() - 2.0f;
  for (int r = 0; r < rows; ++r) labels[static_cast<size_t>(r)] = (r * 37) % cols;
  DeviceBuffer<float> dx(x), y(x.size()), loss(static_cast<size_t>(rows));
  DeviceBuffer<int> dl(labels);
  const auto t0 = std::chrono::steady_clock::now();
  xent::launch(simt_test::softmax_rows, rows, 256)(dx.get(), cols, dl.get(), y.get(), loss.get());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  const auto hy = y.download();
  const auto hl = loss.download();
  for (int r = 0; r < rows; ++r) {
    const float* row = &x[static_cast<size_t>(r) * cols];
    double m = row[0];
    for (int j = 1; j < cols; ++j) m = std::max(m, static_cast<double>(row[j]));
    double s = 0.0;
    for (int j = 0; j < cols; ++j) s += std::exp(row[j] - m);
    const double lse = m + std::log(s);
    EXPECT_NEAR(hl[static_cast<size_t>(r)], lse - row[labels[static_cast<size_t>(r)]], 1e-5);
    int mismatches = 0;
    for (int j = 0; j < cols && mismatches < 5; ++j) {
      const double p = std::exp(row[j] - lse);
      const double got = hy[static_cast<size_t>(r) * cols + j];
      if (std::abs(got - p) > 1e-6 + 1e-5 * p) {
        ++mismatches;
        ADD_FAILURE() << "row " << r << " col " << j << ": " << got << " vs " << p;
      }
    }
  }
  return seconds;
}

TEST(Simt, SoftmaxRowsUnderEverySchedule) {
  for (const ScheduleSpec& s : every_schedule()) {
    SCOPED_TRACE(xent::simt::to_string(s));
    xent::simt::ScopedSchedule order(s);
    run_softmax(8, 1000);
  }
}

// The emulator's speed on the kind of kernel xent runs most: 1024 rows of 1000, 256 threads per
// row. It took about 0.5 s on one core when written; the time is reported, not asserted.
TEST(Simt, SoftmaxSpeed1024x1000) {
#if defined(__SANITIZE_ADDRESS__)
  constexpr int kRows = 128;  // the sanitizers slow everything several-fold
#else
  constexpr int kRows = 1024;
#endif
  // The emulator's own speed: the race checker, which SoftmaxRowsUnderEverySchedule runs this
  // kernel under, is off for the timed launch.
  const bool checking = xent::simt::checking();
  xent::simt::set_checking(false);
  const double seconds = run_softmax(kRows, 1000);
  xent::simt::set_checking(checking);
  std::printf("[ simt     ] softmax %d x 1000, 256 threads per row: %.3f s on %d worker(s)\n",
              kRows, seconds, xent::simt::worker_threads());
  RecordProperty("softmax_seconds", std::to_string(seconds));
}

// Injected faults: an out-of-bounds write inside an emulated kernel must be reported by the
// sanitizer build.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

TEST(SimtDeathTest, SanitizersCatchOutOfBoundsGlobalWrite) {
  if (!kAsan) GTEST_SKIP() << "needs the sanitizer build (cmake -DXENT_SANITIZE=ON)";
  use_threadsafe_death_tests();
  EXPECT_DEATH(
      {
        DeviceBuffer<float> x(100);
        xent::launch(simt_test::write_global, 1, 32)(x.get(), 100);
      },
      "heap-buffer-overflow");
}

TEST(SimtDeathTest, SanitizersCatchOutOfBoundsStaticSharedWrite) {
  if (!kAsan) GTEST_SKIP() << "needs the sanitizer build (cmake -DXENT_SANITIZE=ON)";
  use_threadsafe_death_tests();
  // Static __shared__ arrays are thread_local, which AddressSanitizer does not pad: UBSan's
  // bounds check on the array's declared size is what reports this one.
  EXPECT_DEATH(
      {
        DeviceBuffer<float> out(64);
        xent::launch(simt_test::write_static_shared, 1, 64)(64, out.get());
      },
      "index 64 out of bounds for type 'float \\[64\\]'");
}

TEST(SimtDeathTest, SanitizersCatchOutOfBoundsDynamicSharedWrite) {
  if (!kAsan) GTEST_SKIP() << "needs the sanitizer build (cmake -DXENT_SANITIZE=ON)";
  use_threadsafe_death_tests();
  EXPECT_DEATH(
      {
        DeviceBuffer<float> out(64);
        xent::launch(simt_test::write_dynamic_shared, 1, 64, 64 * sizeof(float))(64, out.get());
      },
      "heap-buffer-overflow");
}

}  // namespace

#else

TEST(Simt, NeedsTheCudaHeaders) {
  GTEST_SKIP() << "the SIMT emulator is built only where the CUDA toolkit's headers are";
}

#endif
