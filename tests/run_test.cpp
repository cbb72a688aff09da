// The run library (include/xent/run.h) and the model layout (include/xent/layers.h, model.h) on
// the CPU backend: the evaluation schedule, the sinks, early stopping, the divergence guard, and
// a layout that needs no backend.
#include "xent/run.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "cpu/cpu_backend.h"
#include "xent/checkpoint.h"
#include "xent/error.h"
#include "xent/model.h"
#include "xent/trainer_run.h"

namespace xent {
namespace {

Config small_config(int K) {
  Config c = load_config(
      "", "",
      {"model.hidden=[16, 32, 16]", "train.batch=64", "train.steps=30", "train.eval_every=10",
       "train.eval_samples=512", "dgp.clusters=10", "dgp.mixing_cond_draws=200"});
  c.train.population = K;
  return c;
}

TEST(Run, EvaluatesOnTheScheduleAndEndsWhereTheTrainerLoopEnds) {
  const Config c = small_config(2);
  CpuBackend b;
  Trainer t(b, c);
  TrainerRun job(t);
  MemorySink sink;
  const RunOutcome out = run(job, sink, {});
  // Steps 10, 20 and 30, a row per replica each, in replica order.
  ASSERT_EQ(sink.rows.size(), 6u);
  for (size_t i = 0; i < sink.rows.size(); ++i) {
    EXPECT_EQ(sink.rows[i].step, static_cast<int64_t>(10 * (i / 2 + 1)));
    EXPECT_EQ(sink.rows[i].replica, static_cast<int>(i % 2));
    EXPECT_EQ(sink.rows[i].seed, c.train.seed + i % 2);
  }
  EXPECT_EQ(out.steps_trained, 30);
  EXPECT_FALSE(out.stopped);
  // The same trainer stepped by hand gives the same bits: the loop adds nothing to the numbers.
  Trainer by_hand(b, c);
  for (int s = 0; s < 30; ++s) by_hand.step();
  const std::vector<ReplicaMetrics> want = by_hand.evaluate();
  for (int k = 0; k < 2; ++k) {
    const ReplicaMetrics got = replica_metrics(out.metrics[static_cast<size_t>(k)]);
    EXPECT_EQ(0, std::memcmp(&got, &want[static_cast<size_t>(k)], sizeof got)) << "k=" << k;
    EXPECT_EQ(replica_metrics(sink.rows[4 + static_cast<size_t>(k)].values).r2_a, want[k].r2_a);
  }
}

// The training loss at every loss check (kLossCheckEvery steps): a row per replica with the
// loss of that step, the value the trainer stepped by hand reports there.
TEST(Run, WritesTheTrainingLossAtEveryLossCheck) {
  Config c = small_config(2);
  c.train.steps = 2 * kLossCheckEvery + 30;
  c.train.eval_every = 0;
  CpuBackend b;
  Trainer t(b, c);
  TrainerRun job(t);
  MemorySink sink;
  run(job, sink, {});
  ASSERT_EQ(sink.losses.size(), 4u);
  Trainer by_hand(b, c);
  for (size_t i = 0; i < sink.losses.size(); ++i) {
    const MetricsRow& r = sink.losses[i];
    const int64_t step = kLossCheckEvery * static_cast<int64_t>(i / 2 + 1);
    EXPECT_EQ(r.step, step);
    EXPECT_EQ(r.replica, static_cast<int>(i % 2));
    EXPECT_EQ(r.seed, c.train.seed + i % 2);
    while (by_hand.steps_done() < step) by_hand.step();
    EXPECT_EQ(metric(r.values, "loss"), static_cast<double>(by_hand.last_loss()[i % 2]));
  }
}

// The steady-state figure counts the steps after the call's first two (on CUDA: the eager step
// and the graph capture) and times them without the evaluations between them.
TEST(Run, SteadyStateLeavesOutTheFirstTwoStepsAndTheEvaluations) {
  const Config c = small_config(1);
  CpuBackend b;
  Trainer t(b, c);
  TrainerRun job(t);
  MemorySink sink;
  const RunOutcome out = run(job, sink, {});
  EXPECT_EQ(out.steady_steps, 28);
  EXPECT_GT(out.steady_s, 0.0);
  EXPECT_LT(out.steady_s, out.train_s);
  // Two steps left: nothing in the steady state.
  Trainer short_run(b, c);
  for (int s = 0; s < 28; ++s) short_run.step();
  TrainerRun rest(short_run);
  const RunOutcome tail = run(rest, sink, {});
  EXPECT_EQ(tail.steps_trained, 2);
  EXPECT_EQ(tail.steady_steps, 0);
  EXPECT_EQ(tail.steady_s, 0.0);
}

TEST(Run, MetricValuesRoundTrip) {
  const ReplicaMetrics m{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  const MetricValues v = metric_values(m);
  ASSERT_EQ(v.size(), 9u);
  EXPECT_EQ(v.front().name, "r2_a");
  EXPECT_EQ(v.back().name, "loss");
  const ReplicaMetrics back = replica_metrics(v);
  EXPECT_EQ(0, std::memcmp(&back, &m, sizeof m));
}

TEST(Run, AnEvaluationCallbackStopsTheRunAndItsCheckpointResumes) {
  const Config c = small_config(1);
  const std::string ck = (std::filesystem::temp_directory_path() /
                          ("xent_run_test_stop_" + std::to_string(getpid()) + ".xck"))
                             .string();
  CpuBackend b;
  Trainer t(b, c);
  TrainerRun job(t);
  MemorySink sink;
  RunSpec spec;
  spec.checkpoint = ck;
  int calls = 0;
  spec.on_evaluation = [&](int64_t step, const std::vector<MetricValues>& m) {
    ++calls;
    EXPECT_EQ(m.size(), 1u);
    return step < 20;
  };
  const RunOutcome out = run(job, sink, spec);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(t.steps_done(), 20);
  // The checkpoint holds step 20, and resuming it to the end gives the uninterrupted run.
  Trainer resumed(b, c);
  restore_checkpoint(resumed, read_checkpoint(ck), ck);
  EXPECT_EQ(resumed.steps_done(), 20);
  TrainerRun rest(resumed);
  MemorySink more;
  const RunOutcome end = run(rest, more, {});
  Trainer whole(b, c);
  for (int s = 0; s < 30; ++s) whole.step();
  const ReplicaMetrics want = whole.evaluate()[0];
  const ReplicaMetrics got = replica_metrics(end.metrics[0]);
  EXPECT_EQ(0, std::memcmp(&got, &want, sizeof got));
  std::filesystem::remove(ck);
}

// The binding stops so on Ctrl-C: between two steps, writing nothing, so that the checkpoint
// on disk is still the last one written by the schedule.
TEST(Run, ABetweenStepsHookStopsTheRunWithoutACheckpoint) {
  Config c = small_config(1);
  c.train.checkpoint_every = 10;
  const std::string ck =
      (std::filesystem::temp_directory_path() / "xent_run_test_between.xck").string();
  CpuBackend b;
  Trainer t(b, c);
  TrainerRun job(t);
  MemorySink sink;
  RunSpec spec;
  spec.checkpoint = ck;
  std::vector<int64_t> seen;
  spec.between_steps = [&](int64_t step) {
    seen.push_back(step);
    return step < 15;
  };
  const RunOutcome out = run(job, sink, spec);
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(t.steps_done(), 15);
  EXPECT_EQ(seen.size(), 15u);
  EXPECT_EQ(sink.rows.size(), 1u);  // step 10's evaluation only
  EXPECT_EQ(read_checkpoint(ck).step, 10);
  std::filesystem::remove(ck);
}

// encode() is the evaluation's forward pass: on the evaluation set it gives the features the
// probe scores (replica by replica, in chunks of one batch).
TEST(Run, EncodeRunsTheEncoderAsTheEvaluationDoes) {
  const Config c = small_config(2);
  CpuBackend b;
  Trainer t(b, c);
  for (int s = 0; s < 5; ++s) t.step();
  const DgpSamples eval = draw_samples(c.dgp, c.train.seed, 100);
  const std::vector<float> f = t.encode(eval.x.data(), 100);
  ASSERT_EQ(f.size(), 2u * 100 * 5);
  // Encoding twice, or row by row, gives the same bits: no state changes, rows independent.
  EXPECT_EQ(f, t.encode(eval.x.data(), 100));
  const std::vector<float> one = t.encode(eval.x.data() + 7 * 5, 1);
  for (int k = 0; k < 2; ++k)
    for (int j = 0; j < 5; ++j) EXPECT_EQ(one[k * 5 + j], f[(k * 100 + 7) * 5 + j]);
  // The two replicas are different models.
  EXPECT_NE(std::vector<float>(f.begin(), f.begin() + 500),
            std::vector<float>(f.begin() + 500, f.end()));
}

TEST(Run, ADivergedReplicaStopsTheRunNamingIt) {
  Config c = small_config(2);
  c.train.lr = 1e30;  // the first Adam steps blow the parameters up
  CpuBackend b;
  Trainer t(b, c);
  TrainerRun job(t);
  MemorySink sink;
  RunSpec spec;
  spec.replica_name = [](int k) { return "run r" + std::to_string(k); };
  try {
    run(job, sink, spec);
    FAIL() << "a run at lr 1e30 finished";
  } catch (const DivergedError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("diverged: non-finite"), std::string::npos) << what;
    EXPECT_NE(what.find("run r"), std::string::npos) << what;
    EXPECT_NE(what.find("try a smaller train.lr"), std::string::npos) << what;
    EXPECT_EQ(what.find("last good checkpoint"), std::string::npos) << what;
  }
}

TEST(ModelLayout, NamesShapesAndAlignedOffsetsWithoutABackend) {
  Config c = small_config(3);
  c.dgp.d = 5;
  const ModelLayout l = model_layout(c);
  const auto& ts = l.params.tensors();
  // 3 hidden layers x (weight, bias, gamma, beta), the output layer's weight and bias, W.
  ASSERT_EQ(ts.size(), 3u * 4 + 2 + 1);
  EXPECT_EQ(ts[0].name, "enc.0.weight");
  EXPECT_EQ(ts[0].size, 16 * 5);
  EXPECT_EQ(ts[2].name, "enc.0.bn.weight");
  EXPECT_EQ(ts[12].name, "enc.3.weight");
  EXPECT_EQ(ts[12].size, 5 * 16);
  EXPECT_EQ(ts.back().name, "head.weight");
  EXPECT_EQ(ts.back().size, c.dgp.classes() * 5);
  int64_t end = 0;
  for (const ParamTensor& t : ts) {
    EXPECT_EQ(t.offset % kTensorAlign, 0) << t.name;
    EXPECT_GE(t.offset, end) << t.name << " overlaps the tensor before it";
    end = t.offset + 3 * t.size;
  }
  EXPECT_LE(end, l.params.total());
  ASSERT_EQ(l.params.stats().size(), 3u);
  EXPECT_EQ(l.params.stats()[1].name, "enc.1.bn");
  EXPECT_EQ(l.params.stats()[1].size, 32);
  // A model built on a backend uses exactly this layout.
  CpuBackend b;
  const Model m(b, c, 8);
  ASSERT_EQ(m.tensors().size(), ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    EXPECT_EQ(m.tensors()[i].name, ts[i].name);
    EXPECT_EQ(m.tensors()[i].offset, ts[i].offset);
  }
}

TEST(ModelLayout, PaddingBetweenTensorsStaysZeroThroughTraining) {
  // d = 5 and K = 3 make odd tensor sizes, so there is padding to check.
  const Config c = small_config(3);
  CpuBackend b;
  Trainer t(b, c);
  for (int s = 0; s < 5; ++s) t.step();
  const Model& m = t.model();
  std::vector<float> p(static_cast<size_t>(m.num_params()));
  b.download(p.data(), t.model().params(), p.size() * sizeof(float));
  std::vector<bool> used(p.size(), false);
  for (const ParamTensor& pt : m.tensors())
    for (int64_t i = 0; i < 3 * pt.size; ++i) used[static_cast<size_t>(pt.offset + i)] = true;
  int64_t padding = 0;
  for (size_t i = 0; i < p.size(); ++i)
    if (!used[i]) {
      ++padding;
      EXPECT_EQ(p[i], 0.0f) << "at " << i;
    }
  EXPECT_GT(padding, 0);
}

}  // namespace
}  // namespace xent
