// The emulator's race and barrier checker: each kind of hazard it must report, with both
// threads and both sites, and the patterns it must leave alone.
#if defined(XENT_HAVE_SIMT)
#include "simt_check_kernels.cuh"
#endif

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(XENT_HAVE_SIMT)

namespace {

using xent::simt::CheckCapture;
using xent::simt::Hazard;
using xent::simt::Schedule;
using xent::simt::ScheduleSpec;

template <typename T>
class Buffer {
 public:
  explicit Buffer(const std::vector<T>& host) : n_(host.size()) {
    EXPECT_EQ(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), cudaSuccess);
  }
  ~Buffer() { cudaFree(p_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
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

std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

// "tests/simt_check_kernels.cuh:<line>", as the reports name a site.
std::string at(int line) { return "tests/simt_check_kernels.cuh:" + std::to_string(line); }

std::string all(const std::vector<Hazard>& found) {
  std::string out;
  for (const Hazard& h : found) out += h.message + "\n";
  return out;
}

#define XENT_NEED_MEMORY_CHECKS()                                                              \
  do {                                                                                         \
    if (!xent::simt::memory_checks_built())                                                    \
      GTEST_SKIP() << "the memory checks need the ThreadSanitizer instrumentation, which the " \
                      "sanitizer build cannot have";                                           \
  } while (0)

TEST(SimtCheck, MissingBarrierThatLockstepMissesIsReported) {
  XENT_NEED_MEMORY_CHECKS();
  const auto x = iota(256);
  Buffer<float> dx(x), out(std::vector<float>(256));
  CheckCapture capture;
  xent::simt::ScopedSchedule order(ScheduleSpec{Schedule::kLockstep, 0});
  xent::launch(simt_check::shift_right<false>, 1, 256)(dx.get(), out.get());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const auto h = out.download();
  for (unsigned t = 1; t < 256; ++t) ASSERT_EQ(h[t], x[t - 1]) << "lock-step order got it right";
  const auto found = capture.hazards();
  // One report per address: slots 0..254 are each written by one thread and read by the next.
  ASSERT_EQ(found.size(), 255u) << all(found);
  const Hazard& first = found.front();
  EXPECT_EQ(first.kind, "read-after-write");
  EXPECT_EQ(first.space, "shared");
  EXPECT_NE(first.kernel.find("simt_check::shift_right"), std::string::npos) << first.message;
  EXPECT_EQ(first.first_site, at(simt_check::kShiftWriteLine)) << first.message;
  EXPECT_EQ(first.second_site, at(simt_check::kShiftReadLine)) << first.message;
  EXPECT_NE(first.message.find("write by block (0,0,0) thread (0,0,0)"), std::string::npos)
      << first.message;
  EXPECT_NE(first.message.find("read by block (0,0,0) thread (1,0,0)"), std::string::npos)
      << first.message;
}

// Without a capture a finding is printed and the process aborts, so the test fails.
TEST(SimtCheckDeathTest, AFindingAbortsTheProcessWithBothSites) {
  XENT_NEED_MEMORY_CHECKS();
  // Re-run the binary for the dying statement: a fork would copy only this thread of the pool.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const std::string sites =
      "write by block \\(0,0,0\\) thread \\(0,0,0\\) at " + at(simt_check::kShiftWriteLine) +
      ".*read by block \\(0,0,0\\) thread \\(1,0,0\\) at " + at(simt_check::kShiftReadLine);
  EXPECT_DEATH(
      {
        xent::simt::set_checking(true);
        Buffer<float> dx(iota(256));
        Buffer<float> out(std::vector<float>(256));
        xent::launch(simt_check::shift_right<false>, 1, 256)(dx.get(), out.get());
      },
      "shared-memory read-after-write hazard.*shift_right.*" + sites +
          ".*the checker found 255 problem");
}

TEST(SimtCheck, TheBarrierMakesItClean) {
  const auto x = iota(256);
  Buffer<float> dx(x), out(std::vector<float>(256));
  CheckCapture capture;
  xent::launch(simt_check::shift_right<true>, 1, 256)(dx.get(), out.get());
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_TRUE(capture.hazards().empty()) << all(capture.hazards());
}

TEST(SimtCheck, WarpLevelHazardWithoutSyncwarp) {
  XENT_NEED_MEMORY_CHECKS();
  Buffer<float> out(std::vector<float>(64));
  {
    CheckCapture capture;
    xent::launch(simt_check::warp_swap<false>, 1, 64)(out.get());
    const auto found = capture.hazards();
    ASSERT_EQ(found.size(), 64u) << all(found);
    // Even slots are read after their write, odd ones written after their read (lock-step
    // runs lane 2k before lane 2k + 1).
    for (const Hazard& h : found) {
      EXPECT_EQ(h.space, "shared");
      const std::string write = at(simt_check::kSwapWriteLine),
                        read = at(simt_check::kSwapReadLine);
      if (h.kind == "read-after-write") {
        EXPECT_EQ(h.first_site + " " + h.second_site, write + " " + read) << h.message;
      } else {
        EXPECT_EQ(h.kind, "write-after-read");
        EXPECT_EQ(h.first_site + " " + h.second_site, read + " " + write) << h.message;
      }
    }
  }
  CheckCapture capture;
  xent::launch(simt_check::warp_swap<true>, 1, 64)(out.get());
  EXPECT_TRUE(capture.hazards().empty()) << all(capture.hazards());
}

TEST(SimtCheck, ShufflesOrderOnlyTheLanesTheyName) {
  XENT_NEED_MEMORY_CHECKS();
  Buffer<float> out(std::vector<float>(32));
  CheckCapture capture;
  xent::launch(simt_check::half_warp_shuffles, 1, 32)(out.get());
  const auto found = capture.hazards();
  ASSERT_EQ(found.size(), 32u) << all(found);
  EXPECT_EQ(found.front().kind, "read-after-write");
  EXPECT_EQ(found.front().second_site, at(simt_check::kHalvesReadLine));
}

TEST(SimtCheck, ThreadsOnTheirOwnWordsAreNotReported) {
  const auto x = iota(4 * 256);
  Buffer<float> dx(x), out(std::vector<float>(x.size()));
  CheckCapture capture;
  for (const ScheduleSpec& s :
       {ScheduleSpec{Schedule::kLockstep, 0}, ScheduleSpec{Schedule::kGreedy, 0},
        ScheduleSpec{Schedule::kRandom, 5}}) {
    xent::simt::ScopedSchedule order(s);
    xent::launch(simt_check::own_words, 4, 256)(dx.get(), out.get());
  }
  EXPECT_TRUE(capture.hazards().empty()) << all(capture.hazards());
  const auto h = out.download();
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(h[i], 2.0f * x[i] + 1.0f + 2.0f * x[i / 256 * 256]);
}

TEST(SimtCheck, BytesOfOneWordWrittenByDifferentThreadsAndBlocks) {
  Buffer<unsigned char> out(std::vector<unsigned char>(5 * 3));
  CheckCapture capture;
  xent::launch(simt_check::own_bytes, 5, 3)(out.get());
  EXPECT_TRUE(capture.hazards().empty()) << all(capture.hazards());
  const auto h = out.download();
  for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(h[i], i + 2);
}

TEST(SimtCheck, GlobalWordsWrittenByTwoBlocks) {
  XENT_NEED_MEMORY_CHECKS();
  Buffer<float> out(std::vector<float>(8));
  CheckCapture capture;
  xent::launch(simt_check::every_block_writes, 8, 32)(out.get());
  const auto found = capture.hazards();
  ASSERT_EQ(found.size(), 1u) << all(found);  // once per kernel and address
  EXPECT_EQ(found[0].kind, "write-after-write");
  EXPECT_EQ(found[0].space, "global");
  EXPECT_EQ(found[0].first_site, at(simt_check::kEveryBlockWriteLine));
  EXPECT_EQ(found[0].second_site, at(simt_check::kEveryBlockWriteLine));
  EXPECT_NE(found[0].message.find("two blocks"), std::string::npos) << found[0].message;
}

TEST(SimtCheck, GlobalWordReadByAnotherBlock) {
  XENT_NEED_MEMORY_CHECKS();
  Buffer<float> flag(std::vector<float>(1)), out(std::vector<float>(4));
  CheckCapture capture;
  xent::launch(simt_check::read_other_block, 4, 32)(flag.get(), out.get());
  const auto found = capture.hazards();
  ASSERT_EQ(found.size(), 1u) << all(found);
  EXPECT_EQ(found[0].space, "global");
  EXPECT_TRUE(found[0].kind == "read-after-write" || found[0].kind == "write-after-read")
      << found[0].message;
}

TEST(SimtCheck, AtomicsFromEveryBlockAreNotReported) {
  Buffer<unsigned> counter(std::vector<unsigned>(1, 0u));
  CheckCapture capture;
  xent::launch(simt_check::atomic_count, 16, 64)(counter.get());
  EXPECT_EQ(counter.download()[0], 16u * 64u);
  EXPECT_TRUE(capture.hazards().empty()) << all(capture.hazards());
}

TEST(SimtCheck, MasksNamingLanesThatDoNotTakePart) {
  Buffer<float> out(std::vector<float>(40));
  CheckCapture capture;
  xent::launch(simt_check::full_mask_in_partial_warp, 1, 40)(out.get());
  xent::launch(simt_check::full_mask_after_return, 1, 32)(out.get());
  const auto found = capture.hazards();
  ASSERT_EQ(found.size(), 2u) << all(found);
  EXPECT_EQ(found[0].kind, "warp-mask");
  EXPECT_EQ(found[0].first_site, at(simt_check::kPartialWarpLine));
  EXPECT_NE(found[0].message.find("names lanes 0xffffff00"), std::string::npos) << found[0].message;
  EXPECT_EQ(found[1].first_site, at(simt_check::kAfterReturnLine));
  EXPECT_NE(found[1].message.find("names lanes 0xffff0000"), std::string::npos) << found[1].message;
}

TEST(SimtCheck, ResultsAreTheSameBitsWithTheCheckerOnAndOff) {
  std::vector<float> x(8 * 256);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 1.0f / static_cast<float>(i + 1);
  Buffer<float> dx(x), out(std::vector<float>(8));
  std::vector<float> checked, unchecked;
  {
    CheckCapture capture;
    xent::launch(simt_check::block_sums, 8, 256)(dx.get(), out.get());
    checked = out.download();
    EXPECT_TRUE(capture.hazards().empty()) << all(capture.hazards());
  }
  const bool was = xent::simt::checking();
  xent::simt::set_checking(false);
  xent::launch(simt_check::block_sums, 8, 256)(dx.get(), out.get());
  unchecked = out.download();
  xent::simt::set_checking(was);
  EXPECT_EQ(std::memcmp(checked.data(), unchecked.data(), checked.size() * sizeof(float)), 0);
}

}  // namespace

#else

TEST(SimtCheck, NeedsTheEmulator) {
  GTEST_SKIP() << "the SIMT emulator is built only where the CUDA toolkit's headers are";
}

#endif
