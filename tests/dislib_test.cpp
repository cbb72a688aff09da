// The DisLib protocol on the CPU backend: a population of repeats, early stopping that keeps each
// repeat's best, resuming bit for bit, the pixels baseline, the config and its errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "experiments/dislib/classifier.h"
#include "experiments/dislib/config.h"
#include "run_xent.h"
#include "xent/checkpoint.h"
#include "xent/error.h"

namespace xent::dislib {
namespace {

// Small and quick: 12 steps of 128 images, 32 units.
RunConfig small(int repeats) {
  RunConfig c;
  c.batch = 128;
  c.width = 32;
  c.layers = 2;
  c.repeats = repeats;
  c.steps = 12;
  c.eval_every = 3;
  c.probe_fit = 512;
  c.probe_score = 512;
  return c;
}

std::string scratch(const std::string& name) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("xent_dislib_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p.string();
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// metrics.jsonl without the wall-clock times, which differ between any two runs.
std::vector<nlohmann::json> rows(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(read(path));
  for (std::string line; std::getline(in, line);) {
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("wall_s");
    out.push_back(j);
  }
  return out;
}

// One value other than the default for every key of the table (the test below checks that a new
// key is added here).
const std::vector<std::string> kChangedKeys = {
    "data.name=shapes3d", "data.split_seed=3",         "model.kind=linear", "model.width=64",
    "model.layers=2",     "train.batch=256",           "train.lr=0.01",     "train.max_epochs=5",
    "train.steps=7",      "train.stop_acc=0.9",        "train.repeats=3",   "train.seed=4",
    "train.eval_every=9", "train.checkpoint_every=11", "train.threads=1",   "probe.fit=100",
    "probe.score=100"};

// Every key of the table loads, lands in config.toml and moves the checkpoint's config hash,
// except the four a resumed run may change.
TEST(Dislib, EveryKeyLoadsAndOnlyResumeKeysLeaveTheHash) {
  std::set<std::string> listed, table;
  for (const std::string& s : kChangedKeys) listed.insert(s.substr(0, s.find('=')));
  for (const std::string& k : run_config_key_names()) table.insert(k);
  EXPECT_EQ(listed, table);
  const std::set<std::string> resume = {"train.max_epochs", "train.steps", "train.checkpoint_every",
                                        "train.threads"};
  const RunConfig d = load_run_config("", {});
  for (const std::string& s : kChangedKeys) {
    const RunConfig c = load_run_config("", {s});
    EXPECT_NE(to_toml(c), to_toml(d)) << s;
    const bool may_change = resume.count(s.substr(0, s.find('='))) > 0;
    EXPECT_EQ(config_hash(c) == config_hash(d), may_change) << s;
  }
}

TEST(Dislib, ConfigRoundTripsThroughItsToml) {
  const RunConfig c =
      load_run_config_text("[model]\nkind = \"linear\"\nwidth = 64\n[train]\nrepeats = 3\n",
                           "run.toml", {"train.stop_acc=0.9", "data.split_seed=7"});
  EXPECT_EQ(c.model, ModelKind::Linear);
  EXPECT_EQ(c.width, 64);
  EXPECT_EQ(c.repeats, 3);
  const RunConfig back = load_run_config_text(to_toml(c), "config.toml", {});
  EXPECT_EQ(to_toml(back), to_toml(c));
  EXPECT_EQ(back.split_seed, 7u);
  EXPECT_DOUBLE_EQ(back.stop_acc, 0.9);
  // Only the resume keys may change on --resume, and only they leave the hash alone.
  RunConfig longer = c;
  longer.max_epochs = 200;
  EXPECT_NO_THROW(check_resume(c, longer));
  EXPECT_EQ(config_hash(longer), config_hash(c));
  RunConfig other = c;
  other.lr = 0.01;
  EXPECT_THROW(check_resume(c, other), InputError);
  EXPECT_NE(config_hash(other), config_hash(c));
  EXPECT_THROW(load_run_config_text("[modle]\nkind = \"mlp\"\n", "bad.toml", {}), InputError);
}

// The shipped config is the defaults, written out: loading it changes nothing.
TEST(Dislib, ShippedConfigIsTheReferenceProtocol) {
  const RunConfig c = load_run_config(std::string(XENT_CONFIGS_DIR) + "/dislib.toml", {});
  EXPECT_EQ(to_toml(c), to_toml(RunConfig{}));
  EXPECT_EQ(c.repeats, 10);
  EXPECT_EQ(c.max_epochs, 100);
  EXPECT_DOUBLE_EQ(c.stop_acc, 0.999);
}

// Each repeat is its own model: repeat 0 of a population of 2 is the run of repeat 0 alone, bit
// for bit (its own split, seed and batch order; the same launches). Repeat 1 differs.
TEST(Dislib, RepeatZeroOfAPopulationIsTheSingleRun) {
  CpuBackend cpu;
  std::vector<std::vector<float>> losses;
  for (int K : {1, 2}) {
    ClassifierTrainer m(cpu, small(K));
    std::vector<float> l;
    for (int s = 0; s < 4; ++s) {
      m.step();
      const std::vector<float> all = m.last_losses();
      l.insert(l.end(), all.begin(), all.end());
    }
    losses.push_back(l);
  }
  for (int s = 0; s < 4; ++s) {
    EXPECT_EQ(losses[1][2 * s], losses[0][s]) << "step " << s;
    EXPECT_NE(losses[1][2 * s + 1], losses[0][s]) << "step " << s;
  }
}

// With a stopping accuracy a short run reaches, each repeat stops at its first evaluation past
// it, the run ends when both have, and the parameters put back are those of each repeat's best
// evaluation: evaluating them again gives that accuracy exactly.
TEST(Dislib, EarlyStoppingKeepsEachRepeatsBest) {
  CpuBackend cpu;
  RunConfig c = small(2);
  c.steps = 60;
  c.stop_acc = 0.47;  // repeat 1 passes it at step 3, repeat 0 at step 24
  ClassifierTrainer m(cpu, c);
  ClassifierRun job(m, c);
  MemorySink sink;
  RunSpec spec;
  spec.on_evaluation = [&](int64_t, const std::vector<MetricValues>&) { return job.running(); };
  run(job, sink, spec);
  ASSERT_FALSE(job.running());
  EXPECT_LT(m.steps_done(), 60) << "the run went on after both repeats had stopped";
  for (int r = 0; r < 2; ++r) {
    // The first evaluation past stop_acc is the one kept.
    int64_t first_past = -1;
    for (const MetricsRow& row : sink.rows)
      if (row.replica == r && first_past < 0 && metric(row.values, "val_acc") > c.stop_acc)
        first_past = row.step;
    EXPECT_EQ(job.best_step()[static_cast<size_t>(r)], first_past) << "repeat " << r;
    EXPECT_GT(job.best_acc()[static_cast<size_t>(r)], c.stop_acc);
  }
  m.restore_best();
  std::vector<std::vector<int32_t>> val;
  for (const Split& s : m.splits()) val.push_back(probe_images(c, s).fit);
  const std::vector<EvalResult> again = m.evaluate(val);
  for (size_t r = 0; r < 2; ++r) EXPECT_EQ(again[r].acc, job.best_acc()[r]) << "repeat " << r;
}

// A run stopped at step 6 and resumed to step 12 writes the rows, summary and results of the
// run that went to 12 at once. Repeat 1 has stopped (at step 3) when the checkpoint is written,
// so its kept best and stopping state travel through the checkpoint too.
TEST(Dislib, ResumeContinuesBitForBit) {
  const std::string flags =
      " -q --repeats 2 --set train.batch=128 --set model.width=32 --set model.layers=2 --set "
      "train.eval_every=3 --set probe.fit=512 --set probe.score=512 --set train.stop_acc=0.47";
  const std::string whole = scratch("whole"), parts = scratch("parts");
  ASSERT_EQ(test::run_xent("dislib" + flags + " --set train.steps=12 --out " + whole).code, 0);
  ASSERT_EQ(test::run_xent("dislib" + flags + " --set train.steps=6 --out " + parts).code, 0);
  const test::XentResult r =
      test::run_xent("dislib -q --resume " + parts + " --set train.steps=12");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(rows(parts + "/metrics.jsonl"), rows(whole + "/metrics.jsonl"));
  EXPECT_EQ(read(parts + "/results.csv"), read(whole + "/results.csv"));
  nlohmann::json a = nlohmann::json::parse(read(whole + "/summary.json"));
  nlohmann::json b = nlohmann::json::parse(read(parts + "/summary.json"));
  EXPECT_EQ(a["replicas"], b["replicas"]);
  EXPECT_EQ(a["results"], b["results"]);
  // Changing what the run was is refused, naming the key.
  const test::XentResult bad =
      test::run_xent("dislib -q --resume " + parts + " --set train.lr=0.1");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("train.lr"), std::string::npos) << bad.err;
  std::filesystem::remove_all(whole);
  std::filesystem::remove_all(parts);
}

// A checkpoint of the xent builds whose Adam moments were one tensor per buffer ("adam.m",
// "adam.v") instead of one per parameter tensor is refused with one line that says so.
TEST(Dislib, CheckpointWithOneAdamTensorIsRefused) {
  const std::string flags =
      " -q --repeats 2 --set train.batch=128 --set model.width=32 --set model.layers=2 --set "
      "train.eval_every=3 --set probe.fit=512 --set probe.score=512";
  const std::string dir = scratch("older");
  ASSERT_EQ(test::run_xent("dislib" + flags + " --set train.steps=6 --out " + dir).code, 0);
  const std::string path = dir + "/checkpoint.xck";
  const Checkpoint ck = read_checkpoint(path);
  // The older layout: the moments as two tensors the size of "params", the rest as it is.
  std::vector<CheckpointTensor> older;
  for (const CheckpointTensor& t : ck.tensors) {
    if (t.name.rfind("adam.", 0) == 0) continue;
    older.push_back(t);
    if (t.name == "params") {
      for (const char* name : {"adam.m", "adam.v"}) {
        older.push_back(t);
        older.back().name = name;
      }
    }
  }
  std::vector<StateTensor> state;  // the CPU backend's memory is host memory
  for (CheckpointTensor& t : older) state.push_back({t.name, t.data.data(), t.shape[1]});
  CpuBackend cpu;
  write_state_checkpoint(path, cpu, StateHeader{ck.shape_hash, ck.config_hash, ck.step, ck.seeds},
                         state);
  const test::XentResult r = test::run_xent("dislib -q --resume " + dir + " --set train.steps=12");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("older xent, whose Adam moments were one tensor 'adam.m'"),
            std::string::npos)
      << r.err;
  std::filesystem::remove_all(dir);
}

// The linear model trains (loss falls) and its representation has model.width features.
TEST(Dislib, LinearModelTrainsAndProbes) {
  CpuBackend cpu;
  RunConfig c = small(1);
  c.model = ModelKind::Linear;
  ClassifierTrainer m(cpu, c);
  const std::vector<int32_t> fit = probe_images(c, m.splits()[0]).fit;
  const EvalResult before = m.evaluate({fit})[0];
  for (int s = 0; s < 12; ++s) m.step();
  const EvalResult after = m.evaluate({fit})[0];
  EXPECT_LT(after.loss, before.loss);
  const ProbeImages im = probe_images(c, m.splits()[0]);
  const ProbeScores r = correlate_factors(
      m.data(), im.fit, im.score, c.width, c.batch,
      [&](const int32_t* images, int64_t n, float* f) { m.features(0, images, n, f); });
  ASSERT_EQ(r.size(), m.data().targets.size());
  // A linear map of the pixels carries position linearly (the pixel probe's own r is .9).
  EXPECT_GT(r[4], 0.5);
  EXPECT_GT(r[5], 0.5);
}

// 3D Shapes goes through the same classifier: 4 classes, 12,288 values an image. Training
// lowers the loss (after 40 steps: the running BatchNorm statistics that evaluation uses need
// some steps to settle), and the representation carries the floor's hue (a large, uniform
// region of every image) linearly.
TEST(Dislib, Shapes3dTrainsAndProbes) {
  CpuBackend cpu;
  RunConfig c = small(1);
  c.dataset = "shapes3d";
  ClassifierTrainer m(cpu, c);
  ASSERT_EQ(m.data().classes, 4);
  const ProbeImages im = probe_images(c, m.splits()[0]);
  const EvalResult before = m.evaluate({im.fit})[0];
  for (int s = 0; s < 40; ++s) m.step();
  EXPECT_LT(m.evaluate({im.fit})[0].loss, before.loss);
  const ProbeScores r = correlate_factors(
      m.data(), im.fit, im.score, c.width, c.batch,
      [&](const int32_t* images, int64_t n, float* f) { m.features(0, images, n, f); });
  EXPECT_EQ(m.data().targets[0], "floor_hue");
  EXPECT_GT(r[0], 0.8);
}

// The pixels baseline trains nothing: no checkpoint or metrics, one row per target in
// results.csv, and the summary's mean is that row's value.
TEST(Dislib, PixelsRunProbesTheImages) {
  const std::string out = scratch("pixels");
  const test::XentResult r = test::run_xent(
      "dislib -q --model pixels --repeats 1 --set probe.fit=2048 --set probe.score=2048 --out " +
      out);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out + "/checkpoint.xck"));
  const nlohmann::json s = nlohmann::json::parse(read(out + "/summary.json"));
  EXPECT_EQ(s["run"]["model"], "pixels");
  std::istringstream csv(read(out + "/results.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "repeat,seed,split_seed,target,pearson_r");
  int n = 0;
  for (; std::getline(csv, line); ++n) {
    const std::string target = line.substr(6, line.find(',', 6) - 6);
    const double v = std::stod(line.substr(line.rfind(',') + 1));
    EXPECT_DOUBLE_EQ(s["results"]["pearson_r_mean"][target].get<double>(), v) << target;
  }
  EXPECT_EQ(n, 6);
  std::filesystem::remove_all(out);
}

}  // namespace
}  // namespace xent::dislib
