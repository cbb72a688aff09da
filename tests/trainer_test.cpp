// Whole training runs on the CPU backend: determinism, populations, and the paper's claim at
// small scale.
#include "xent/trainer.h"

#include <gtest/gtest.h>

#include <cstring>

#include "cpu/cpu_backend.h"

namespace xent {
namespace {

Config small_config(int K, uint64_t seed) {
  Config c =
      load_config("", "",
                  {"model.hidden=[16, 32, 16]", "train.batch=64", "train.steps=20",
                   "train.eval_samples=512", "dgp.clusters=10", "dgp.mixing_cond_draws=200"});
  c.train.population = K;
  c.train.seed = seed;
  return c;
}

std::vector<ReplicaMetrics> run(const Config& c, std::vector<float>* params = nullptr,
                                int threads = 1) {
  CpuBackend b(threads);
  Trainer t(b, c);
  for (int64_t s = 0; s < c.train.steps; ++s) t.step();
  if (params) {
    params->resize(t.model().num_params());
    b.download(params->data(), t.model().params(), params->size() * sizeof(float));
  }
  return t.evaluate();
}

bool same_bits(const ReplicaMetrics& a, const ReplicaMetrics& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(Trainer, SameSeedGivesBitwiseIdenticalMetrics) {
  for (int K : {1, 3}) {
    const auto a = run(small_config(K, 7)), b = run(small_config(K, 7));
    ASSERT_EQ(a.size(), static_cast<size_t>(K));
    for (int k = 0; k < K; ++k) EXPECT_TRUE(same_bits(a[k], b[k])) << "K=" << K << " k=" << k;
  }
}

TEST(Trainer, AnyThreadCountGivesTheSameBits) {
  // Batches of 600 rows and a 300-wide layer: the GEMMs run as several row chunks, BatchNorm
  // in many blocks, and a population of 2 splits over 3 threads inside a replica.
  Config c = small_config(2, 3);
  c.model.hidden = {40, 300, 40};
  c.train.batch = 600;
  c.train.steps = 4;
  std::vector<float> p1, p2, p3;
  const auto a = run(c, &p1, 1), b = run(c, &p2, 2), d = run(c, &p3, 3);
  ASSERT_EQ(p1.size(), p2.size());
  EXPECT_EQ(0, std::memcmp(p1.data(), p2.data(), p1.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(p1.data(), p3.data(), p1.size() * sizeof(float)));
  for (int k = 0; k < 2; ++k) {
    EXPECT_TRUE(same_bits(a[k], b[k])) << k;
    EXPECT_TRUE(same_bits(a[k], d[k])) << k;
  }
}

// model.bn_eval = "batch" changes what an evaluation reports, not the training: a run that
// evaluates with batch statistics between its steps ends with every parameter, Adam moment
// and running statistic bit for bit where the run with running statistics ends.
TEST(Trainer, BatchStatisticsAtEvaluationLeaveTrainingAsItWas) {
  Config running = small_config(2, 3), batch = running;
  batch.model.bn_eval = BnEval::Batch;
  CpuBackend b;
  Trainer tr(b, running), tb(b, batch);
  std::vector<ReplicaMetrics> mr, mb;
  for (int64_t s = 1; s <= running.train.steps; ++s) {
    tr.step();
    tb.step();
    if (s % 10 == 0) mr = tr.evaluate(), mb = tb.evaluate();
  }
  const std::vector<StateTensor> sr = tr.state(), sb = tb.state();
  ASSERT_EQ(sr.size(), sb.size());
  for (size_t i = 0; i < sr.size(); ++i) {
    const size_t n = static_cast<size_t>(sr[i].size) * 2;
    std::vector<float> hr(n), hb(n);
    b.download(hr.data(), sr[i].data, n * sizeof(float));
    b.download(hb.data(), sb[i].data, n * sizeof(float));
    EXPECT_EQ(0, std::memcmp(hr.data(), hb.data(), n * sizeof(float))) << sr[i].name;
  }
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_NE(mr[k].r2_a, mb[k].r2_a) << "k=" << k;
    EXPECT_NE(mr[k].loss, mb[k].loss) << "k=" << k;
    EXPECT_EQ(mr[k].r2_w, mb[k].r2_w) << "k=" << k;  // the head alone: no BatchNorm
  }
}

TEST(Trainer, DifferentSeedsGiveDifferentRuns) {
  const auto a = run(small_config(1, 7)), b = run(small_config(1, 8));
  EXPECT_FALSE(same_bits(a[0], b[0]));
}

TEST(Trainer, ReplicaOfPopulationEqualsSingleRunWithItsSeed) {
  // Replica k of a population seeded s is the K = 1 run seeded s + k, bit for bit: the
  // replicas share launches, never data.
  std::vector<float> pop_params, one_params;
  const auto pop = run(small_config(3, 5), &pop_params);
  const auto one = run(small_config(1, 7), &one_params);
  EXPECT_TRUE(same_bits(pop[2], one[0]));
  // And the trained parameters: every tensor's replica-2 slice equals the single run's.
  CpuBackend b;
  Model pm(b, small_config(3, 5), 64), om(b, small_config(1, 7), 64);
  ASSERT_EQ(pm.tensors().size(), om.tensors().size());
  for (size_t i = 0; i < pm.tensors().size(); ++i) {
    const auto& pt = pm.tensors()[i];
    const auto& ot = om.tensors()[i];
    ASSERT_EQ(pt.size, ot.size);
    EXPECT_EQ(0, std::memcmp(pop_params.data() + pt.offset + 2 * pt.size,
                             one_params.data() + ot.offset, pt.size * sizeof(float)))
        << pt.name;
  }
}

TEST(Trainer, ShortSupervisedRunRecoversLatents) {
  // The paper's claim at small scale: the base DGP (d = 5, |C| = 100, kappa = 10) and the
  // paper's encoder, 1,500 steps of batch 256 with lr 3e-3, reach R2_a >= 0.9 (the paper:
  // 0.998 after 50,000 steps of batch 1024). Measured when the bound was set: 0.973 for this
  // seed (seeds 1 and 2: 0.894, 0.943), so the margin covers BLAS differences across CPUs.
  Config c = load_config("", "",
                         {"train.lr=0.003", "train.batch=256", "train.steps=1500",
                          "train.eval_samples=4096", "dgp.mixing_cond_draws=2000"});
  const auto m = run(c);
  EXPECT_GE(m[0].r2_a, 0.9);
  EXPECT_GT(m[0].acc, 0.1);  // 100 classes: chance is 0.01
}

}  // namespace
}  // namespace xent
