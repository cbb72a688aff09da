// kernels/sample_latents.cu against the CPU reference: xent::draw_centres (host/dgp/centres.cpp)
// and CpuBackend::sample_latents (host/cpu/sample_latents.cpp).
//
// Tolerances (see the header comment of kernels/sample_latents.cu for the reasons):
//   - labels and clusters: identical on every target (they come from the first u32 alone).
//   - under the emulator: centres and latents bit-identical (cuRAND's host code gives
//     xent::Philox's numbers exactly, tests/philox_test.cpp, and g++ rounds the double
//     arithmetic as the CPU build does).
//   - on a GPU: each coordinate within 1e-5. cuRAND's device normals differ from the host's by
//     ~4e-7 relative (__sincosf, see philox.h), nvcc contracts multiply-adds and the device libm
//     may differ by an ulp; every step from draws to a unit vector is well conditioned, so the
//     latents differ by ~1e-6, and 1e-5 leaves a factor of ten.
//   - on a GPU, in addition, a sample whose rejection test (Marsaglia-Tsang or Wood) sits within
//     that perturbation of its threshold may flip and then draw a different, equally valid latent.
//     The chance is ~1e-6 to 1e-5 per sample (margin density <= 1 per unit of log u, times a
//     perturbation of about (d-1) * 1e-6): such rows may differ, and there may be at most
//     2 + rows / 1000 of them. A kernel bug moves most rows, not a few.
//   - everywhere: every row is a unit vector, to 1e-6, except the truncated Laplace's, which are
//     not projected.
#include "kernel_harness.h"
//
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "kernels/sample_latents.h"
#include "xent/dgp.h"
#include "xent/error.h"

namespace {

using xent::CentreDist;
using xent::Conditional;
using xent::DgpParams;
using xent::LabelMode;
using xent::RngPurpose;
using xent::kernels::LatentReplica;
using xent::test::DeviceVector;
using xent::test::float_bits;
using xent::test::kEmulated;

constexpr double kGpuTol = 1e-5;
// Rows are rounded to float after normalising in double: their norm is within a few 2^-24 of 1.
constexpr double kUnitNormTol = 1e-6;

struct Case {
  std::vector<DgpParams> params;  // one per replica; all share d and clusters
  std::vector<uint64_t> seeds;
  int64_t n = 0;
  uint64_t first = 0;
  RngPurpose purpose = RngPurpose::Train;
  bool with_cluster = true;
  int64_t batches_done = -1;  // the step counter in device memory; negative: none (null)
};

std::vector<LatentReplica> replicas_of(const Case& c) {
  std::vector<LatentReplica> r;
  for (size_t k = 0; k < c.params.size(); ++k)
    r.push_back(xent::cuda::latent_replica(c.params[k], c.seeds[k]));
  return r;
}

std::vector<float> cpu_centres(const Case& c) {
  std::vector<float> all;
  for (size_t k = 0; k < c.params.size(); ++k) {
    const std::vector<float> ck = xent::draw_centres(c.params[k], c.seeds[k]);
    all.insert(all.end(), ck.begin(), ck.end());
  }
  return all;
}

// Compares `rows` rows of d floats. Returns the number of rows that differ beyond the GPU
// tolerance (always 0 under the emulator, where any difference fails at once).
int64_t compare_rows(const std::vector<float>& got, const std::vector<float>& want, int d,
                     const std::string& what, bool unit = true) {
  const int64_t rows = static_cast<int64_t>(want.size()) / d;
  int64_t diverged = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = got.data() + r * d;
    const float* w = want.data() + r * d;
    bool close = true;
    double ss = 0.0;
    for (int i = 0; i < d; ++i) {
      if (kEmulated) {
        EXPECT_EQ(float_bits(g[i]), float_bits(w[i]))
            << what << " row " << r << " coordinate " << i << ": " << g[i] << " vs " << w[i];
        if (float_bits(g[i]) != float_bits(w[i])) return rows;  // one report is enough
      }
      close = close && std::fabs(static_cast<double>(g[i]) - static_cast<double>(w[i])) <= kGpuTol;
      ss += static_cast<double>(g[i]) * static_cast<double>(g[i]);
    }
    if (unit) {
      EXPECT_NEAR(std::sqrt(ss), 1.0, kUnitNormTol) << what << " row " << r;
    }
    if (!close) ++diverged;
  }
  return diverged;
}

void check_case(const Case& c) {
  const int K = static_cast<int>(c.params.size());
  const int d = c.params[0].d;
  const int clusters = c.params[0].clusters;
  const auto rows = static_cast<size_t>(K * c.n);
  SCOPED_TRACE(testing::Message() << "K=" << K << " d=" << d << " clusters=" << clusters
                                  << " n=" << c.n << " first=" << c.first
                                  << " batches_done=" << c.batches_done);

  // The CPU's centres for both, so that sampling is compared on identical inputs.
  const std::vector<float> centres = cpu_centres(c);
  std::vector<float> want_z(rows * static_cast<size_t>(d));
  std::vector<int32_t> want_labels(rows), want_cluster(rows);
  xent::CpuBackend cpu;
  const bool counted = c.batches_done >= 0;
  cpu.sample_latents(c.params, c.seeds, centres.data(), c.purpose, c.first,
                     counted ? &c.batches_done : nullptr, c.n, want_z.data(), want_labels.data(),
                     c.with_cluster ? want_cluster.data() : nullptr);

  const DeviceVector<LatentReplica> d_rep(replicas_of(c));
  const DeviceVector<float> d_centres(centres);
  DeviceVector<float> d_z(want_z.size());
  DeviceVector<int32_t> d_labels(rows), d_cluster(rows);
  const DeviceVector<int64_t> d_batches(std::vector<int64_t>{c.batches_done});
  xent::kernels::sample_latents(K, d, clusters, d_rep.get(), d_centres.get(), c.purpose, c.first,
                                counted ? d_batches.get() : nullptr, c.n, d_z.get(), d_labels.get(),
                                c.with_cluster ? d_cluster.get() : nullptr, nullptr);

  EXPECT_EQ(d_labels.download(), want_labels);
  if (c.with_cluster) {
    EXPECT_EQ(d_cluster.download(), want_cluster);
  }
  bool projected = true;
  for (const DgpParams& p : c.params)
    projected = projected && p.conditional != Conditional::TruncatedLaplace;
  const int64_t diverged = compare_rows(d_z.download(), want_z, d, "z", projected);
  EXPECT_LE(diverged, 2 + static_cast<int64_t>(rows) / 1000);
  if (diverged > 0)
    std::printf("latents: %lld of %zu rows diverged\n", static_cast<long long>(diverged), rows);
}

DgpParams params(int d, int clusters, double kappa, Conditional cond,
                 CentreDist centres = CentreDist::Uniform, LabelMode labels = LabelMode::Supervised,
                 int64_t instances = 1000) {
  DgpParams p;
  p.d = d;
  p.clusters = clusters;
  p.kappa = kappa;
  p.conditional = cond;
  p.centres = centres;
  p.labels = labels;
  p.instances = instances;
  return p;
}

// Wood's sampler across dimensions (d = 2 takes the Gamma(a < 1) boost) and concentrations
// from nearly uniform to tightly concentrated; n = 1025 leaves one thread in the last block.
TEST(LatentsKernel, VonMisesFisherMatchesCpuAcrossDimensionsAndKappas) {
  XENT_REQUIRE_DEVICE();
  uint64_t seed = 11;
  for (int d : {2, 3, 10})
    for (double kappa : {0.1, 10.0, 1000.0}) {
      Case c;
      c.params = {params(d, 7, kappa, Conditional::VonMisesFisher)};
      c.seeds = {seed++};
      c.n = 1025;
      check_case(c);
    }
}

// K = 3 replicas in one launch, each with its own seed, conditional, centre distribution and
// kappa; rotating the assignment covers every conditional with every centre distribution.
TEST(LatentsKernel, ConditionalsAndCentreDistributionsPerReplica) {
  XENT_REQUIRE_DEVICE();
  const Conditional conds[] = {Conditional::VonMisesFisher, Conditional::Laplace,
                               Conditional::Normal};
  const CentreDist dists[] = {CentreDist::Uniform, CentreDist::Laplace, CentreDist::Normal};
  const double kappas[] = {5.0, 50.0, 0.5};
  for (int d : {2, 3, 10})
    for (int rot = 0; rot < 3; ++rot) {
      Case c;
      for (int k = 0; k < 3; ++k) {
        DgpParams p = params(d, 13, kappas[(k + rot) % 3], conds[k], dists[(k + rot) % 3]);
        p.centre_scale = 0.5 + k;
        c.params.push_back(p);
        c.seeds.push_back(static_cast<uint64_t>(100 * d + 10 * rot + k));
      }
      c.n = 389;
      c.first = 4096;
      check_case(c);
    }
}

// The reference code's other two conditionals, one replica each with a vMF one in the same
// launch, at shapes p = 0.5 (Gamma(2), no boost), 2 and 4 (Gamma(1/p < 1), boosted) and the
// truncated Laplace at its default and a tight bound.
TEST(LatentsKernel, TruncatedLaplaceAndGeneralizedNormalMatchCpu) {
  XENT_REQUIRE_DEVICE();
  for (int d : {2, 5})
    for (const double beta : {0.5, 2.0, 4.0}) {
      Case c;
      for (const Conditional cond : {Conditional::TruncatedLaplace, Conditional::GeneralizedNormal,
                                     Conditional::VonMisesFisher}) {
        DgpParams p = params(d, 7, 20.0, cond);
        p.beta = cond == Conditional::TruncatedLaplace ? std::max(beta, 1.0) : beta;
        c.params.push_back(p);
        c.seeds.push_back(static_cast<uint64_t>(31 * d + 7 * c.seeds.size()) +
                          static_cast<uint64_t>(beta * 10));
      }
      c.n = 300;
      check_case(c);
    }
}

// DIET labels (an instance index; cluster = index mod |C|) next to a supervised replica, with
// instances up to 2^31 - 1, and a `first` offset near 2^56 so that the stream index wraps
// inside the batch as rng_stream masks it; one run also offsets by a step counter read from
// device memory (batches_done * n more).
TEST(LatentsKernel, DietAndSupervisedLabelsWithOffsetStreams) {
  XENT_REQUIRE_DEVICE();
  const struct {
    uint64_t first;
    int64_t batches_done;
  } offsets[] = {{0, -1}, {123456789, 5}, {(uint64_t{1} << 56) - 100, -1}};
  for (const auto& [first, batches_done] : offsets) {
    Case c;
    c.params = {
        params(5, 10, 10.0, Conditional::VonMisesFisher, CentreDist::Uniform, LabelMode::Diet,
               1000),
        params(5, 10, 3.0, Conditional::Normal, CentreDist::Normal, LabelMode::Diet, 2147483647),
        params(5, 10, 20.0, Conditional::Laplace, CentreDist::Laplace, LabelMode::Supervised)};
    c.seeds = {7, 0xdeadbeefcafef00dull, 7};
    c.n = 1000;
    c.first = first;
    c.batches_done = batches_done;
    c.purpose = first == 0 ? RngPurpose::Eval : RngPurpose::Train;
    check_case(c);
  }
}

// cluster may be null; K = 1 with a single cluster.
TEST(LatentsKernel, NullClusterOutputAndOneCluster) {
  XENT_REQUIRE_DEVICE();
  Case c;
  c.params = {params(3, 1, 10.0, Conditional::VonMisesFisher)};
  c.seeds = {3};
  c.n = 129;
  c.with_cluster = false;
  check_case(c);
}

// No barriers in these kernels, so no order may change a result: one case under orders other
// than the default.
TEST(LatentsKernel, MatchesCpuUnderOtherSchedules) {
  XENT_REQUIRE_DEVICE();
#if defined(XENT_EMULATED)
  for (const auto order : {xent::simt::Schedule::kGreedy, xent::simt::Schedule::kReversed,
                           xent::simt::Schedule::kRandom}) {
    xent::simt::ScopedSchedule scoped({order, 5});
#else
  {
#endif
    Case c;
    c.params = {params(3, 5, 10.0, Conditional::VonMisesFisher),
                params(3, 5, 2.0, Conditional::Laplace, CentreDist::Laplace, LabelMode::Diet, 77)};
    c.seeds = {21, 22};
    c.n = 200;
    c.first = 17;
    check_case(c);
  }
}

TEST(LatentsKernel, ReplicaRejectsWhatTheCpuRejects) {
  DgpParams bad_d = params(1, 5, 10.0, Conditional::VonMisesFisher);
  DgpParams bad_kappa = params(3, 5, 0.0, Conditional::VonMisesFisher);
  DgpParams bad_clusters = params(3, 0, 10.0, Conditional::VonMisesFisher);
  DgpParams bad_instances =
      params(3, 5, 10.0, Conditional::VonMisesFisher, CentreDist::Uniform, LabelMode::Diet, 0);
  DgpParams bad_scale = params(3, 5, 10.0, Conditional::VonMisesFisher);
  bad_scale.centre_scale = -1.0;
  for (const DgpParams& p : {bad_d, bad_kappa, bad_clusters, bad_instances, bad_scale}) {
    EXPECT_THROW(xent::cuda::latent_replica(p, 0), xent::InputError);
    EXPECT_THROW(xent::draw_centres(p, 0), xent::InputError);
  }
}

}  // namespace
