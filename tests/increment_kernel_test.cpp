// kernels/increment.cu: the step counter a captured training step reads.
#include "kernel_harness.h"
//
#include "kernels/increment.h"

namespace {

TEST(CounterKernel, IncrementsInStreamOrder) {
  XENT_REQUIRE_DEVICE();
  xent::test::DeviceVector<int64_t> counter(std::vector<int64_t>{41});
  for (int i = 0; i < 3; ++i) xent::kernels::increment(counter.get(), nullptr);
  EXPECT_EQ(counter.download()[0], 44);
}

}  // namespace
