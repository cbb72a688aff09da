// kernels/render_sprites.cu against xent::cpu::render_sprites: a copy, so bitwise equal everywhere.
#include "kernel_harness.h"
//
#include <cmath>

#include "cpu/cpu_backend.h"
#include "cpu/ops.h"
#include "cuda/cuda_backend.h"
#include "experiments/dislib/classifier.h"
#include "kernels/render_sprites.h"
#include "xent/dsprites.h"

namespace {

using xent::test::DeviceVector;
namespace ds = xent::dsprites;

// Every image of a random batch, labels included, with the batch taken from the counter
// (batches_done % period) and without it.
TEST(SpritesKernel, MatchesCpuBitwise) {
  XENT_REQUIRE_DEVICE();
  const std::vector<uint8_t> masks = ds::render_masks();
  constexpr int64_t kRows = 37, kPeriod = 3;
  std::mt19937 gen(11);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(ds::kImages - 1));
  std::vector<int32_t> index(kRows * kPeriod);
  for (auto& i : index) i = pick(gen);
  index[0] = 0;  // the first and last image: the corners of both index ranges
  index[1] = static_cast<int32_t>(ds::kImages - 1);
  DeviceVector<uint8_t> d_masks(masks);
  DeviceVector<int32_t> d_index(index);
  for (const int64_t done : {int64_t{-1}, int64_t{0}, int64_t{5}}) {
    const int64_t* host_done = done < 0 ? nullptr : &done;
    DeviceVector<int64_t> d_done(std::vector<int64_t>{done});
    std::vector<float> want(kRows * ds::kPixels);
    std::vector<int32_t> want_labels(kRows);
    xent::cpu::render_sprites(masks.data(), index.data(), host_done, kPeriod, kRows, want.data(),
                              want_labels.data());
    DeviceVector<float> images(want.size());
    DeviceVector<int32_t> labels(want_labels.size());
    xent::kernels::render_sprites(d_masks.get(), d_index.get(), host_done ? d_done.get() : nullptr,
                                  kPeriod, kRows, images.get(), labels.get(), nullptr);
    const std::vector<float> got = images.download();
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_EQ(xent::test::float_bits(got[i]), xent::test::float_bits(want[i]))
          << "done " << done << " element " << i;
    EXPECT_EQ(labels.download(), want_labels) << "done " << done;
  }
}

// Null labels: only the images are written.
TEST(SpritesKernel, LabelsAreOptional) {
  XENT_REQUIRE_DEVICE();
  const std::vector<uint8_t> masks = ds::render_masks();
  const std::vector<int32_t> index = {12345, 700000};
  DeviceVector<uint8_t> d_masks(masks);
  DeviceVector<int32_t> d_index(index);
  DeviceVector<float> images(2 * ds::kPixels);
  xent::kernels::render_sprites(d_masks.get(), d_index.get(), nullptr, 1, 2, images.get(), nullptr,
                                nullptr);
  std::vector<float> want(2 * ds::kPixels);
  xent::cpu::render_sprites(masks.data(), index.data(), nullptr, 1, 2, want.data(), nullptr);
  EXPECT_EQ(images.download(), want);
}

// The dSprites classifier through the CUDA backend (replayed graphs, the render kernel, cuBLAS)
// against the CPU backend. The GEMMs sum in other orders, and Adam turns rounding-level
// differences of near-zero gradients into steps of up to lr (1e-3) on those parameters, so the
// two runs drift apart by about lr per step: 5e-3 on a loss near 1.1 after a few steps holds
// that with room, and a wrong batch, label or gradient moves it by far more.
// Two repeats, so that the population's batch layout (repeat r's rows after repeat r - 1's) and
// the per-repeat losses go through the kernels too.
TEST(SpritesKernel, ShapeClassifierTrainsLikeOnTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  xent::dislib::RunConfig o;
  o.batch = 64;
  o.width = 16;
  o.layers = 2;
  o.repeats = 2;
  std::vector<std::vector<float>> losses(2);
  std::vector<std::vector<xent::dislib::EvalResult>> evals(2);
  xent::CpuBackend cpu;
  xent::cuda::CudaBackend gpu;
  xent::Backend* backends[2] = {&cpu, &gpu};
  for (int b = 0; b < 2; ++b) {
    xent::dislib::ClassifierTrainer model(*backends[b], o);
    for (int s = 0; s < 4; ++s) {
      model.step();
      for (float l : model.last_losses()) losses[b].push_back(l);
    }
    std::vector<std::vector<int32_t>> held;
    for (const auto& split : model.splits())
      held.emplace_back(split.val.begin(), split.val.begin() + 100);
    evals[b] = model.evaluate(held);
  }
  for (size_t s = 0; s < losses[0].size(); ++s)
    EXPECT_NEAR(losses[1][s], losses[0][s], 5e-3) << "step " << s / 2 + 1 << ", repeat " << s % 2;
  for (size_t r = 0; r < 2; ++r) EXPECT_NEAR(evals[1][r].loss, evals[0][r].loss, 5e-3);
}

}  // namespace
