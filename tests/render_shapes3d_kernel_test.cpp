// kernels/render_shapes3d.cu against xent::cpu::render_shapes3d: one multiply of the same two
// floats a value, so bitwise equal everywhere.
#include "kernel_harness.h"
//
#include "cpu/ops.h"
#include "kernels/render_shapes3d.h"
#include "xent/shapes3d.h"

namespace {

using xent::test::DeviceVector;
namespace s3 = xent::shapes3d;

// Every value of a random batch, labels included, with the batch taken from the counter
// (batches_done % period) and without it.
TEST(Shapes3dKernel, MatchesCpuBitwise) {
  XENT_REQUIRE_DEVICE();
  const std::vector<uint8_t> views = s3::render_views();
  constexpr int64_t kRows = 29, kPeriod = 3;
  std::mt19937 gen(17);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(s3::kImages - 1));
  std::vector<int32_t> index(kRows * kPeriod);
  for (auto& i : index) i = pick(gen);
  index[0] = 0;  // the first and last image: the corners of every factor's range
  index[1] = static_cast<int32_t>(s3::kImages - 1);
  index[kRows + 2] = static_cast<int32_t>(s3::image_of({9, 0, 4, 7, 3, 0}));
  DeviceVector<uint8_t> d_views(views);
  DeviceVector<int32_t> d_index(index);
  for (const int64_t done : {int64_t{-1}, int64_t{0}, int64_t{4}}) {
    const int64_t* host_done = done < 0 ? nullptr : &done;
    DeviceVector<int64_t> d_done(std::vector<int64_t>{done});
    std::vector<float> want(kRows * s3::kValues);
    std::vector<int32_t> want_labels(kRows);
    xent::cpu::render_shapes3d(views.data(), index.data(), host_done, kPeriod, kRows, want.data(),
                               want_labels.data());
    DeviceVector<float> images(want.size());
    DeviceVector<int32_t> labels(want_labels.size());
    xent::kernels::render_shapes3d(d_views.get(), d_index.get(), host_done ? d_done.get() : nullptr,
                                   kPeriod, kRows, images.get(), labels.get(), nullptr);
    const std::vector<float> got = images.download();
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(xent::test::float_bits(got[i]), xent::test::float_bits(want[i]))
          << "done " << done << " element " << i;
    EXPECT_EQ(labels.download(), want_labels) << "done " << done;
  }
}

// Null labels: only the images are written; n = 0 launches nothing.
TEST(Shapes3dKernel, LabelsAreOptional) {
  XENT_REQUIRE_DEVICE();
  const std::vector<uint8_t> views = s3::render_views();
  const std::vector<int32_t> index = {12345, 479999};
  DeviceVector<uint8_t> d_views(views);
  DeviceVector<int32_t> d_index(index);
  DeviceVector<float> images(2 * s3::kValues);
  xent::kernels::render_shapes3d(d_views.get(), d_index.get(), nullptr, 1, 2, images.get(), nullptr,
                                 nullptr);
  std::vector<float> want(2 * s3::kValues);
  xent::cpu::render_shapes3d(views.data(), index.data(), nullptr, 1, 2, want.data(), nullptr);
  EXPECT_EQ(images.download(), want);
  xent::kernels::render_shapes3d(d_views.get(), d_index.get(), nullptr, 1, 0, images.get(), nullptr,
                                 nullptr);
  EXPECT_EQ(images.download(), want);
}

}  // namespace
