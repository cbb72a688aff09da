// The xent binary on bad input: a one-line error naming the key or file, exit code 2, and no
// results left behind that look complete.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "run_xent.h"

namespace {

namespace fs = std::filesystem;

using Result = xent::test::XentResult;
Result xent(const std::string& args) { return xent::test::run_xent(args); }

fs::path scratch(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("xent_cli_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  return p;
}

void expect_error(const std::string& args, const std::string& needle) {
  const Result r = xent(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  // One line: the message and its newline, nothing else.
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << "\n" << r.err;
}

TEST(Cli, BadConfigValuesNameTheKey) {
  const std::string out = "--out " + scratch("bad").string();
  expect_error("train --set dgp.d=1 " + out, "dgp.d");
  expect_error("train --set dgp.kappa=0 " + out, "dgp.kappa");
  expect_error("train --set dgp.kappa=-3 " + out, "dgp.kappa");
  expect_error("train --set train.batch=0 " + out, "train.batch");
  expect_error("train --set dgp.clusters=1 " + out, "dgp.clusters");
  expect_error("train --set train.population=0 " + out, "train.population");
  expect_error("train --set dgp.kapa=5 " + out, "unknown key 'dgp.kapa'");
  expect_error("train --set dgp.d=five " + out, "dgp.d");
  expect_error("train --set dgp.conditional=cauchy " + out, "cauchy");
  expect_error("train --set nonsense " + out, "key=value");
  expect_error("train --preset sup-nope " + out, "sup-nope");
  expect_error("train --device tpu " + out, "tpu");
  // Nothing was created for runs that never started.
  EXPECT_FALSE(fs::exists(scratch("bad")));
}

TEST(Cli, BadConfigFilesNameTheFile) {
  const fs::path dir = scratch("cfg");
  fs::create_directories(dir);
  const fs::path unknown = dir / "unknown.toml", typed = dir / "typed.toml",
                 broken = dir / "broken.toml";
  std::ofstream(unknown) << "[dgp]\nkappa = 5\nmystery = 1\n";
  std::ofstream(typed) << "[train]\nsteps = \"many\"\n";
  std::ofstream(broken) << "[dgp\nd = 3\n";
  const std::string out = " --out " + (dir / "out").string();
  expect_error("train --config " + unknown.string() + out, "dgp.mystery");
  expect_error("train --config " + typed.string() + out, "train.steps");
  expect_error("train --config " + broken.string() + out, broken.string());
  expect_error("train --config " + (dir / "missing.toml").string() + out, "missing.toml");
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(Cli, RefusesToMixTwoRunsInOneDirectory) {
  const fs::path dir = scratch("busy");
  fs::create_directories(dir);
  std::ofstream(dir / "summary.json") << "{}";
  expect_error("train --out " + dir.string(), "already holds files");
  std::ifstream in(dir / "summary.json");
  std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(kept, "{}");  // the earlier result is untouched
}

TEST(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(xent("").code, 2);
  EXPECT_EQ(xent("frobnicate").code, 2);
  EXPECT_EQ(xent("train --no-such-flag").code, 2);
  EXPECT_EQ(xent("sample --n 10").code, 2);  // --out is required
  EXPECT_EQ(xent("train --help").code, 0);
}

TEST(Cli, TrainWritesConfigMetricsAndSummary) {
  const fs::path dir = scratch("run");
  const Result r = xent(
      "train -q --set train.steps=3 --set train.batch=32 --set "
      "model.hidden=[8] --set train.eval_samples=64 --set "
      "dgp.mixing_cond_draws=50 --out " +
      dir.string());
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"config.toml", "metrics.jsonl", "loss.jsonl", "summary.json"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  std::ifstream in(dir / "summary.json");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* key :
       {"\"r2_a\"", "\"r2_o\"", "\"mae_o\"", "\"r2_w\"", "\"mcc\"", "\"acc\"", "\"loss\""})
    EXPECT_NE(s.find(key), std::string::npos) << key;
  // The resolved config is itself a valid config that reproduces the run's settings.
  const fs::path again = scratch("run_again");
  const Result r2 =
      xent("train -q --config " + (dir / "config.toml").string() + " --out " + again.string());
  EXPECT_EQ(r2.code, 0) << r2.err;
}

// train.checkpoint_every = 0 still checkpoints at step 0 and at the end (so that the run can be
// resumed); --no-checkpoint writes none at all, and summary.json has both rates either way.
TEST(Cli, NoCheckpointWritesNoCheckpoint) {
  const std::string small =
      "train -q --set train.steps=4 --set train.batch=32 --set model.hidden=[8] --set "
      "train.eval_samples=64 --set dgp.mixing_cond_draws=50 --set train.checkpoint_every=0 "
      "--out ";
  const fs::path with = scratch("with_ck"), without = scratch("no_ck");
  ASSERT_EQ(xent(small + with.string()).code, 0);
  EXPECT_TRUE(fs::exists(with / "checkpoint.xck"));
  const Result r = xent(small + without.string() + " --no-checkpoint");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(without / "checkpoint.xck"));
  EXPECT_FALSE(fs::exists(without / "checkpoint.xck.tmp"));
  std::ifstream in(without / "summary.json");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* key : {"\"steps_per_s\"", "\"steady_steps\": 2", "\"steady_steps_per_s\""})
    EXPECT_NE(s.find(key), std::string::npos) << key << "\n" << s;
  // Nothing to resume from, and the error says so.
  expect_error("train --resume " + without.string(), "checkpoint.xck: missing");
}

TEST(Cli, LengthReferenceTrainsTheReferenceCodesSteps) {
  expect_error("train --length long", "--length: expected paper or reference, got 'long'");
  const std::string small =
      "train -q --set train.batch=32 --set model.hidden=[8] --set train.eval_samples=64 --set "
      "dgp.mixing_cond_draws=50 --length reference --out ";
  // --set still wins over --length.
  const fs::path shortened = scratch("length_set");
  ASSERT_EQ(xent(small + shortened.string() + " --set train.steps=3").code, 0);
  std::ifstream a(shortened / "config.toml");
  const std::string ca((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
  EXPECT_NE(ca.find("steps = 3\n"), std::string::npos) << ca;
  // Alone, 500,000 steps: config.toml, written before the first step, says so; the run is
  // stopped after two seconds.
  const fs::path reference = scratch("length_reference");
  (void)std::system(("timeout -s KILL 2 " + std::string(XENT_BINARY) + " " + small +
                     reference.string() + " >/dev/null 2>&1")
                        .c_str());
  std::ifstream b(reference / "config.toml");
  const std::string cb((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
  EXPECT_NE(cb.find("steps = 500000\n"), std::string::npos) << cb;
}

}  // namespace
