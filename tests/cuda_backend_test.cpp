// The CUDA backend against the CPU backend, op by op and for whole training
// runs. In xent_tests it runs on the SIMT emulator (OpenBLAS standing in for
// cuBLAS); in xent_gpu_tests on a GPU.
#include "kernel_harness.h"
//
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "cpu/cpu_backend.h"
#include "cuda/cuda_backend.h"
#include "xent/dgp.h"
#include "xent/metrics.h"
#include "xent/model.h"
#include "xent/run.h"
#include "xent/trainer.h"
#include "xent/trainer_run.h"

namespace xent {
namespace {

using xent::test::normals;

// Runs one op on a backend: inputs uploaded, outputs downloaded.
struct Buffers {
  Backend& b;
  std::vector<DeviceArray<float>> arrays;
  float* add(const std::vector<float>& h) {
    arrays.emplace_back(b, h.size());
    arrays.back().upload(h);
    return arrays.back().data();
  }
};

// Both GEMM paths of a layer through the backend's BLAS (cuBLAS's column-major
// view of row-major tensors) and the bias kernels. Summation order differs from
// the CPU's OpenBLAS call, so compare with a bound of 8 eps times the sum of
// |products| (the depth is at most 300).
TEST(CudaBackend, LinearLayersMatchTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  CpuBackend cpu;
  cuda::CudaBackend gpu;
  for (const LinearShape s :
       {LinearShape{1, 7, 3, 5}, LinearShape{3, 65, 33, 17}, LinearShape{2, 300, 50, 250}}) {
    const size_t nx = s.K * s.rows * s.in, nw = size_t(s.K) * s.out * s.in,
                 ny = s.K * s.rows * s.out, nb = size_t(s.K) * s.out;
    const std::vector<float> x = normals(nx, 1), w = normals(nw, 2), b = normals(nb, 3),
                             dy = normals(ny, 4);
    std::vector<std::vector<float>> got, want;
    for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&gpu)}) {
      Buffers in{*be, {}};
      float *dx_ = in.add(x), *dw_ = in.add(w), *db_ = in.add(b), *ddy = in.add(dy);
      DeviceArray<float> y(*be, ny), gx(*be, nx), gw(*be, nw), gb(*be, nb);
      be->linear_forward(s, dx_, dw_, db_, y.data());
      be->linear_backward(s, dx_, dw_, ddy, gx.data(), gw.data(), gb.data());
      auto& out = be == &cpu ? want : got;
      out = {y.download(), gx.download(), gw.download(), gb.download()};
    }
    const float eps = std::numeric_limits<float>::epsilon();
    // Generous per-element scale: every product is O(1) for these normals, and
    // the sums have in, out or rows terms.
    const float scale[4] = {float(s.in) + 1, float(s.out), float(s.rows), float(s.rows)};
    for (int t = 0; t < 4; ++t)
      for (size_t i = 0; i < want[t].size(); ++i)
        ASSERT_NEAR(got[t][i], want[t][i], 8 * eps * 4 * scale[t])
            << "tensor " << t << " element " << i << " K=" << s.K << " rows=" << s.rows;
  }
}

TEST(CudaBackend, ProbeMatchesTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  CpuBackend cpu;
  cuda::CudaBackend gpu;
  const int64_t n = 1000;
  const int p = 8, q = 5;
  std::vector<float> f = normals(n * p, 5), t(n * q);
  const std::vector<float> a = normals(p * q, 6), noise = normals(n * q, 7);
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < q; ++k) {
      float s = 1.0f + 0.2f * noise[i * q + k];
      for (int j = 0; j < p; ++j) s += f[i * p + j] * a[j * q + k];
      t[i * q + k] = s;
    }
  ProbeResult r[2];
  int i = 0;
  for (Backend* be : {static_cast<Backend*>(&cpu), static_cast<Backend*>(&gpu)}) {
    Buffers in{*be, {}};
    float *df = in.add(f), *dt = in.add(t);
    r[i++] = be->probe(df, n, p, dt, q, 0.5, 1.0);
  }
  // dgelsd on the rows against normal equations from device sums: both exact to
  // ~1e-12 here.
  EXPECT_NEAR(r[1].r2_a, r[0].r2_a, 1e-9);
  EXPECT_NEAR(r[1].r2_o, r[0].r2_o, 1e-9);
  EXPECT_NEAR(r[1].mae_o, r[0].mae_o, 1e-9);
  EXPECT_NEAR(r[1].mcc, r[0].mcc, 1e-9);
}

Config small_config(int K) {
  Config c =
      load_config("", "",
                  {"model.hidden=[16, 32, 16]", "train.batch=64", "train.steps=30",
                   "train.eval_samples=512", "dgp.clusters=10", "dgp.mixing_cond_draws=200"});
  c.train.population = K;
  c.train.seed = 3;
  return c;
}

struct TrainedRun {
  std::vector<ReplicaMetrics> metrics;
  std::vector<float> params;
  std::vector<float> loss;
};

// A trainer's parameters, downloaded from its backend.
std::vector<float> params(Backend& b, Trainer& t) {
  std::vector<float> p(static_cast<size_t>(t.model().num_params()));
  b.download(p.data(), t.model().params(), p.size() * sizeof(float));
  return p;
}

TrainedRun train(Backend& b, const Config& c, int64_t steps) {
  Trainer t(b, c);
  for (int64_t s = 0; s < steps; ++s) t.step();
  TrainedRun r;
  r.metrics = t.evaluate();
  r.params = params(b, t);
  r.loss = t.last_loss();
  return r;
}

void expect_metrics_near(const TrainedRun& got, const TrainedRun& want, double tol) {
  for (size_t k = 0; k < want.metrics.size(); ++k) {
    const ReplicaMetrics &g = got.metrics[k], &w = want.metrics[k];
    EXPECT_NEAR(g.r2_a, w.r2_a, tol) << "k=" << k;
    EXPECT_NEAR(g.r2_o, w.r2_o, tol) << "k=" << k;
    // mae_o is |scale - singular value|, of order 4 early on and the least
    // stable of the metrics (the no-intercept map's spectrum): relative, 2.5
    // times looser.
    EXPECT_NEAR(g.mae_o, w.mae_o, 2.5 * tol * std::max(1.0, w.mae_o)) << "k=" << k;
    EXPECT_NEAR(g.mcc, w.mcc, tol) << "k=" << k;
    EXPECT_NEAR(g.r2_w, w.r2_w, tol) << "k=" << k;
    EXPECT_NEAR(g.loss, w.loss, tol) << "k=" << k;
  }
}

// A population's samples as its trainer draws them on backend b: the centres and mixing from
// the host, the latents (the first n of `purpose`'s streams), labels and observations from b.
struct Samples {
  std::vector<float> z, x;
  std::vector<int32_t> labels;
};

Samples draw(Backend& b, const Config& c, RngPurpose purpose, int64_t n) {
  const int K = c.train.population, d = c.dgp.d;
  std::vector<DgpParams> dgp(static_cast<size_t>(K), c.dgp);
  std::vector<uint64_t> seeds;
  std::vector<float> centres, mixing;
  for (int k = 0; k < K; ++k) {
    seeds.push_back(c.train.seed + static_cast<uint64_t>(k));
    const std::vector<float> ck = draw_centres(c.dgp, seeds.back());
    centres.insert(centres.end(), ck.begin(), ck.end());
  }
  for (const auto& mk : draw_mixing_population(dgp, seeds))
    mixing.insert(mixing.end(), mk.begin(), mk.end());
  DeviceArray<float> dc(b, centres.size()), dm(b, mixing.size()), z(b, K * n * d), x(b, K * n * d);
  DeviceArray<int32_t> labels(b, K * n);
  dc.upload(centres);
  dm.upload(mixing);
  b.sample_latents(dgp, seeds, dc.data(), purpose, 0, nullptr, n, z.data(), labels.data(), nullptr);
  b.mixing_forward(K, c.dgp.mixing_layers, d, dm.data(), z.data(), n, x.data());
  return {z.download(), x.download(), labels.download()};
}

// Per replica, the samples whose rejection sampler accepted another proposal on the two
// backends. The GPU's normals differ from the CPU's in the last bits (fast sincos), so an
// acceptance test that lands within about 1e-6 of its bound can go the other way (about 1e-6 to
// 1e-5 of the samples): such a sample is another point of the sphere, not a rounding of it.
// Every other sample agrees to the normals' 1e-5; 1e-3 tells the two kinds apart.
std::vector<std::vector<int64_t>> flipped(const Samples& a, const Samples& b, int K, int64_t n,
                                          int d) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(K));
  for (int k = 0; k < K; ++k)
    for (int64_t i = 0; i < n; ++i) {
      float worst = 0.0f;
      for (int j = 0; j < d; ++j) {
        const size_t at = static_cast<size_t>((k * n + i) * d + j);
        worst = std::max(worst, std::fabs(a.z[at] - b.z[at]));
      }
      if (worst > 1e-3f ||
          a.labels[static_cast<size_t>(k * n + i)] != b.labels[static_cast<size_t>(k * n + i)])
        out[static_cast<size_t>(k)].push_back(i);
    }
  return out;
}

// Reports the flips; under the emulator (glibc's functions on both sides) there must be none,
// on a GPU at most 1%, far above the expected rate: more would be a sampler that differs.
size_t report_flips(const std::vector<std::vector<int64_t>>& flips, int64_t n, const char* what) {
  size_t total = 0;
  for (size_t k = 0; k < flips.size(); ++k) total += flips[k].size();
  std::printf("[ info     ] %zu of %lld %s samples' vMF acceptance flipped between the backends\n",
              total, static_cast<long long>(n * static_cast<int64_t>(flips.size())), what);
  if (xent::test::kEmulated)
    EXPECT_EQ(total, 0u);
  else
    EXPECT_LE(static_cast<double>(total),
              0.01 * static_cast<double>(n) * static_cast<double>(flips.size()));
  return total;
}

// The sample-dependent metrics of replica k on the evaluation samples `rows` of the CPU's draw
// (host x and z): the encoder in evaluation mode (Trainer::encode), the backend's probe to z,
// and the loss and accuracy of the head's logits (in double on the host).
struct SubsetMetrics {
  ProbeResult probe;
  double loss = 0, acc = 0;
};

SubsetMetrics subset_metrics(Backend& b, Trainer& t, const Samples& s, int k, int64_t n,
                             const std::vector<int64_t>& rows) {
  const Config& c = t.config();
  const int d = c.dgp.d;
  const auto m = static_cast<int64_t>(rows.size());
  std::vector<float> x, z;
  for (int64_t i : rows) {
    const auto at = static_cast<size_t>((k * n + i) * d);
    x.insert(x.end(), s.x.begin() + at, s.x.begin() + at + d);
    z.insert(z.end(), s.z.begin() + at, s.z.begin() + at + d);
  }
  const std::vector<float> all = t.encode(x.data(), m);
  const std::vector<float> f(all.begin() + k * m * d, all.begin() + (k + 1) * m * d);
  DeviceArray<float> df(b, f.size()), dz(b, z.size());
  df.upload(f);
  dz.upload(z);
  SubsetMetrics out;
  out.probe = b.probe(df.data(), m, d, dz.data(), d, c.train.eval_split, 1.0 / c.dgp.kappa);
  const int64_t C = t.model().classes();
  std::vector<float> head(static_cast<size_t>(C * d));
  b.download(head.data(), t.model().head() + k * C * d, head.size() * sizeof(float));
  for (int64_t r = 0; r < m; ++r) {
    std::vector<double> logit(static_cast<size_t>(C), 0.0);
    for (int64_t cls = 0; cls < C; ++cls)
      for (int j = 0; j < d; ++j)
        logit[static_cast<size_t>(cls)] +=
            static_cast<double>(head[static_cast<size_t>(cls * d + j)]) *
            f[static_cast<size_t>(r * d + j)];
    const int32_t y = s.labels[static_cast<size_t>(k * n + rows[static_cast<size_t>(r)])];
    const double top = *std::max_element(logit.begin(), logit.end());
    double sum = 0.0;
    for (double l : logit) sum += std::exp(l - top);
    out.loss += (top + std::log(sum) - logit[static_cast<size_t>(y)]) / static_cast<double>(m);
    out.acc += (logit[static_cast<size_t>(y)] == top) / static_cast<double>(m);
  }
  return out;
}

// Before any step: the same initial parameters, and the same latents, labels and observations
// except for the samples whose acceptance flipped (counted and reported, see flipped()). On the
// others the evaluation (the encoder in eval mode, the loss and the probe) agrees to the
// rounding of the GEMM and reduction orders: 1e-5 on metrics of order 1. evaluate() itself is
// compared at 1e-5 when nothing flipped (always under the emulator).
TEST(CudaBackend, EvaluationBeforeTrainingMatchesTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  const Config c = small_config(2);
  const int K = c.train.population, d = c.dgp.d;
  const int64_t n = c.train.eval_samples;
  CpuBackend cpu;
  cuda::CudaBackend gpu;
  const Samples cs = draw(cpu, c, RngPurpose::Eval, n), gs = draw(gpu, c, RngPurpose::Eval, n);
  const auto flips = flipped(cs, gs, K, n, d);
  const size_t total = report_flips(flips, n, "evaluation");
  Trainer tc(cpu, c), tg(gpu, c);
  EXPECT_EQ(0, std::memcmp(params(gpu, tg).data(), params(cpu, tc).data(),
                           static_cast<size_t>(tc.model().num_params()) * sizeof(float)))
      << "initial parameters";
  // The same predictions under the emulator (OpenBLAS on both sides). On a GPU the logits differ
  // in the last bits (cuBLAS), which can flip a near-tie's arg-max: two samples may differ.
  const double ties = xent::test::kEmulated ? 0.0 : 2.0 / static_cast<double>(n);
  for (int k = 0; k < K; ++k) {
    std::vector<int64_t> rows;
    for (int64_t i = 0, f = 0; i < n; ++i) {
      const auto& fk = flips[static_cast<size_t>(k)];
      if (f < static_cast<int64_t>(fk.size()) && fk[static_cast<size_t>(f)] == i)
        ++f;
      else
        rows.push_back(i);
    }
    const SubsetMetrics want = subset_metrics(cpu, tc, cs, k, n, rows),
                        got = subset_metrics(gpu, tg, cs, k, n, rows);
    EXPECT_NEAR(got.probe.r2_a, want.probe.r2_a, 1e-5) << "k=" << k;
    EXPECT_NEAR(got.probe.r2_o, want.probe.r2_o, 1e-5) << "k=" << k;
    // mae_o, |scale - singular value| of order 4 here, is the least stable metric (the
    // no-intercept map's spectrum): relative, 2.5 times looser, as expect_metrics_near.
    EXPECT_NEAR(got.probe.mae_o, want.probe.mae_o, 2.5e-5 * std::max(1.0, want.probe.mae_o))
        << "k=" << k;
    EXPECT_NEAR(got.probe.mcc, want.probe.mcc, 1e-5) << "k=" << k;
    EXPECT_NEAR(got.loss, want.loss, 1e-5) << "k=" << k;
    EXPECT_NEAR(got.acc, want.acc, ties) << "k=" << k;
  }
  const std::vector<ReplicaMetrics> want = tc.evaluate(), got = tg.evaluate();
  for (int k = 0; k < K; ++k) {
    // The head's rows against the cluster vectors: no sample involved.
    EXPECT_NEAR(got[static_cast<size_t>(k)].r2_w, want[static_cast<size_t>(k)].r2_w, 1e-5);
  }
  if (total == 0) {
    expect_metrics_near({got, {}, {}}, {want, {}, {}}, 1e-5);
    for (int k = 0; k < K; ++k)
      EXPECT_NEAR(got[static_cast<size_t>(k)].acc, want[static_cast<size_t>(k)].acc, ties);
  }
}

// One step: where no sample of a replica's batch flipped (counted and reported, see
// flipped()), the loss agrees to rounding, and so does the update, with one exception. A
// hidden layer's bias feeds a BatchNorm, which subtracts it again: its exact gradient is 0, the
// computed one is rounding noise, and Adam's first step, lr * g / (|g| + eps), moves it by +-lr
// with whatever sign the noise has. Those may differ by 2 lr; every other parameter agrees to
// 1e-5. A replica with a flipped sample trained on another batch: it is reported, not compared.
TEST(CudaBackend, FirstStepMatchesTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  const Config c = small_config(2);
  const int K = c.train.population;
  CpuBackend cpu;
  cuda::CudaBackend gpu;
  const auto flips =
      flipped(draw(cpu, c, RngPurpose::Train, c.train.batch),
              draw(gpu, c, RngPurpose::Train, c.train.batch), K, c.train.batch, c.dgp.d);
  report_flips(flips, c.train.batch, "first-batch");
  const TrainedRun want = train(cpu, c, 1), got = train(gpu, c, 1);
  const double lr = c.train.lr;
  Model layout(cpu, c, 1);
  const int hidden = static_cast<int>(c.model.widths(c.dgp.d).size());
  for (int k = 0; k < K; ++k) {
    if (!flips[static_cast<size_t>(k)].empty()) {
      std::printf("[ info     ] replica %d not compared: its batch has a flipped sample\n", k);
      continue;
    }
    EXPECT_NEAR(got.loss[static_cast<size_t>(k)], want.loss[static_cast<size_t>(k)], 1e-5);
    for (const auto& t : layout.tensors()) {
      bool before_bn = false;
      for (int i = 0; i < hidden; ++i) before_bn |= t.name == "enc." + std::to_string(i) + ".bias";
      const double tol = before_bn ? 2 * lr * (1 + 1e-3) : 1e-5;
      for (int64_t i = t.offset + k * t.size; i < t.offset + (k + 1) * t.size; ++i)
        ASSERT_NEAR(got.params[i], want.params[i], tol)
            << t.name << " replica " << k << " element " << i - t.offset - k * t.size;
    }
  }
}

// Thirty steps: those sign flips compound, so the runs drift apart a little,
// but they train the same way: metrics within 0.02 (measured: 0.003 on r2_a).
TEST(CudaBackend, TrainingMatchesTheCpuBackend) {
  XENT_REQUIRE_DEVICE();
  const Config c = small_config(2);
  CpuBackend cpu;
  cuda::CudaBackend gpu;
  const TrainedRun want = train(cpu, c, c.train.steps), got = train(gpu, c, c.train.steps);
  expect_metrics_near(got, want, 0.02);
  std::printf(
      "[ info     ] %lld steps, CPU vs %s: r2_a %.6f vs %.6f, loss "
      "%.6f vs %.6f\n",
      static_cast<long long>(c.train.steps), gpu.name().c_str(), got.metrics[0].r2_a,
      want.metrics[0].r2_a, got.metrics[0].loss, want.metrics[0].loss);
}

TEST(CudaBackend, GraphReplayEqualsEagerExecution) {
  XENT_REQUIRE_DEVICE();
  const Config c = small_config(2);
  cuda::CudaOptions eager;
  eager.graphs = false;
  cuda::CudaBackend a(eager), b;
  const TrainedRun x = train(a, c, c.train.steps), y = train(b, c, c.train.steps);
  ASSERT_EQ(x.params.size(), y.params.size());
  EXPECT_EQ(0, std::memcmp(x.params.data(), y.params.data(), x.params.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(&x.metrics[1], &y.metrics[1], sizeof(ReplicaMetrics)));
}

// Each trainer owns its recorded step: two trainers of the same config on one backend (same
// shapes, same scratch sizes, same DGP table, so nothing else tells their steps apart), stepped
// in turn, each end bit for bit where it ends alone. A backend-wide recording would replay the
// first trainer's buffers for the second.
TEST(CudaBackend, TwoTrainersOnOneBackendEachReplayTheirOwnStep) {
  XENT_REQUIRE_DEVICE();
  const Config c = small_config(1);
  cuda::CudaBackend shared;
  Trainer t1(shared, c), t2(shared, c);
  for (int s = 0; s < 3; ++s) t1.step();
  for (int s = 0; s < 2; ++s) t2.step();
  t1.step();
  cuda::CudaBackend alone_a, alone_b;
  const TrainedRun four = train(alone_a, c, 4), two = train(alone_b, c, 2);
  const std::vector<float> p1 = params(shared, t1), p2 = params(shared, t2);
  ASSERT_EQ(p1.size(), four.params.size());
  EXPECT_EQ(0, std::memcmp(p1.data(), four.params.data(), p1.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(p2.data(), two.params.data(), p2.size() * sizeof(float)));
}

// Two trainers of different DGPs (seeds; then only dgp.beta, the generalized normal's shape) on
// one backend, stepped in turn: each step finds the other's DGP table on the device and must
// upload its own, which a step being captured cannot do (a synchronous upload), so it runs
// eagerly once more. Each ends bit for bit where it ends alone.
TEST(CudaBackend, TrainersOfDifferentDgpsOnOneBackendEachEndWhereTheyEndAlone) {
  XENT_REQUIRE_DEVICE();
  Config seeded = small_config(1);
  seeded.train.seed = 4;
  Config shape_a =
      load_config("sup-gnormal", "",
                  {"model.hidden=[16, 32, 16]", "train.batch=64", "train.eval_samples=512",
                   "dgp.clusters=10", "dgp.mixing_cond_draws=200", "dgp.beta=2"});
  Config shape_b = shape_a;
  shape_b.dgp.beta = 1.5;
  for (const auto& [c1, c2] : {std::pair<Config, Config>{small_config(1), seeded},
                               std::pair<Config, Config>{shape_a, shape_b}}) {
    cuda::CudaBackend shared;
    Trainer t1(shared, c1), t2(shared, c2);
    for (int s = 0; s < 3; ++s) {
      t1.step();
      t2.step();
    }
    cuda::CudaBackend alone_a, alone_b;
    const TrainedRun a = train(alone_a, c1, 3), b = train(alone_b, c2, 3);
    const std::vector<float> p1 = params(shared, t1), p2 = params(shared, t2);
    ASSERT_EQ(p1.size(), a.params.size());
    ASSERT_EQ(p2.size(), b.params.size());
    EXPECT_EQ(0, std::memcmp(p1.data(), a.params.data(), p1.size() * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(p2.data(), b.params.data(), p2.size() * sizeof(float)));
    EXPECT_NE(0, std::memcmp(a.params.data(), b.params.data(), p1.size() * sizeof(float)))
        << "the two DGPs train alike: the test would not see one trainer use the other's table";
  }
}

// The step graph's launches, counted once it is captured (the second step): every node the
// recording issued, kernels among them, and none before. Printed: the figure the fused kernels
// of the MLP are measured by.
TEST(CudaBackend, TheCapturedStepGraphIsCounted) {
  XENT_REQUIRE_DEVICE();
  // The paper's encoder (sup-base: six hidden layers); the batch changes no launch.
  const Config c = load_config(
      "sup-base", "", {"train.batch=64", "train.eval_samples=512", "dgp.mixing_cond_draws=200"});
  cuda::CudaBackend b;
  Trainer t(b, c);
  t.step();
  EXPECT_EQ(b.step_graph().nodes, 0u) << "the first step runs eagerly";
  t.step();
  const cuda::CudaBackend::GraphCounts n = b.step_graph();
  EXPECT_GT(n.kernels, 0u);
  EXPECT_LE(n.kernels, n.nodes);
  std::printf("[ info     ] step graph (%zu hidden layers, on the %s): %zu nodes, %zu kernels\n",
              c.model.widths(c.dgp.d).size(), xent::test::kernel_target(), n.nodes, n.kernels);
}

// The run loop on this backend: evaluations every 10 steps between graph replays, the steady
// clock synchronising the stream at the edges of each stretch of replayed steps. None of that
// changes what the steps compute: the run ends bit for bit where stepping by hand does.
TEST(CudaBackend, TheRunLoopTimesTheReplayedStepsAndChangesNoResult) {
  XENT_REQUIRE_DEVICE();
  Config c = small_config(2);
  c.train.eval_every = 10;
  cuda::CudaBackend a, b;
  Trainer t(a, c);
  TrainerRun job(t);
  MemorySink sink;
  const RunOutcome out = run(job, sink, {});
  EXPECT_EQ(out.steady_steps, c.train.steps - 2);
  EXPECT_GT(out.steady_s, 0.0);
  EXPECT_LT(out.steady_s, out.train_s);
  const TrainedRun by_hand = train(b, c, c.train.steps);
  for (size_t k = 0; k < by_hand.metrics.size(); ++k) {
    const ReplicaMetrics got = replica_metrics(out.metrics[k]);
    EXPECT_EQ(0, std::memcmp(&got, &by_hand.metrics[k], sizeof got)) << "k=" << k;
  }
}

}  // namespace
}  // namespace xent
