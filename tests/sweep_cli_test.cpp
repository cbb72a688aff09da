// xent sweep end to end: the table, the equality with `xent train`, resuming, failed runs.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "run_xent.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path scratch(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("xent_sweep_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<Json> rows(const fs::path& jsonl) {
  std::vector<Json> out;
  std::istringstream in(read(jsonl));
  for (std::string l; std::getline(in, l);) out.push_back(Json::parse(l));
  return out;
}

// Small enough for a few seconds under ASan: 20 steps of a 3-layer encoder.
const std::string kShared =
    "seeds = [4, 5]\n"
    "[dgp]\nclusters = 10\nmixing_cond_draws = 200\n"
    "[model]\nhidden = [16, 32, 16]\n"
    "[train]\nbatch = 64\nsteps = 20\neval_every = 10\neval_samples = 512\n";

TEST(SweepCli, TableHoldsEveryRunAndMatchesXentTrain) {
  const fs::path dir = scratch("table");
  std::ofstream(dir / "s.toml") << kShared
                                << "[[row]]\nname = \"base\"\n"
                                   "[[row]]\nname = \"k50\"\ndgp.kappa = 50\n"
                                   "[[row]]\nname = \"d4\"\ndgp.d = 4\n";
  const std::string out = (dir / "out").string();
  const auto r = xent::test::run_xent("sweep -q -c " + (dir / "s.toml").string() + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto table = rows(dir / "out/results.jsonl");
  ASSERT_EQ(table.size(), 6u);
  for (const auto& row : table) EXPECT_EQ(row["status"], "ok") << row.dump();
  EXPECT_EQ(table[2]["run"], "k50_seed4");
  EXPECT_EQ(table[2]["config"]["dgp.kappa"], 50.0);
  // base and k50 share a shape: one population of 4; d4 is its own.
  EXPECT_EQ(Json::parse(read(dir / "out/runs/k50_seed5/summary.json"))["run"]["population"], 4);
  EXPECT_EQ(Json::parse(read(dir / "out/runs/d4_seed5/summary.json"))["run"]["population"], 2);
  // Two evaluations per run, as eval_every says.
  EXPECT_EQ(rows(dir / "out/runs/d4_seed5/metrics.jsonl").size(), 2u);
  const std::string csv = read(dir / "out/results.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7);

  // A run of the population, trained alone by `xent train`, gives the same bits.
  const auto t =
      xent::test::run_xent("train -q -c " + (dir / "out/runs/k50_seed5/config.toml").string() +
                           " --out " + (dir / "train").string());
  ASSERT_EQ(t.code, 0) << t.err;
  const Json alone = Json::parse(read(dir / "train/summary.json"))["replicas"][0];
  for (const char* m : {"r2_a", "r2_o", "mae_o", "r2_w", "mcc", "acc", "loss"})
    EXPECT_EQ(table[3][m].get<double>(), alone[m].get<double>()) << m;

  // A rerun trains nothing and gathers the same table.
  const auto before = fs::last_write_time(dir / "out/runs/base_seed4/summary.json");
  const auto again =
      xent::test::run_xent("sweep -c " + (dir / "s.toml").string() + " --out " + out);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.err.find("6 runs already finished"), std::string::npos) << again.err;
  EXPECT_EQ(fs::last_write_time(dir / "out/runs/base_seed4/summary.json"), before);
  EXPECT_EQ(rows(dir / "out/results.jsonl").size(), 6u);

  // A changed sweep under the same OUT is refused rather than mixed in.
  std::ofstream(dir / "s.toml", std::ios::app) << "model.leaky_slope = 0.2\n";
  const auto changed =
      xent::test::run_xent("sweep -q -c " + (dir / "s.toml").string() + " --out " + out);
  EXPECT_EQ(changed.code, 2) << changed.err;
  EXPECT_NE(changed.err.find("differs from this sweep's config"), std::string::npos) << changed.err;
}

TEST(SweepCli, FailedPopulationIsATableRowAndTheSweepGoesOn) {
  const fs::path dir = scratch("failed");
  // An absurd learning rate overflows the parameters within a few steps.
  std::ofstream(dir / "s.toml") << kShared
                                << "[[row]]\nname = \"blowup\"\ntrain.lr = 1e30\n"
                                   "[[row]]\nname = \"fine\"\n";
  const std::string out = (dir / "out").string();
  const auto r = xent::test::run_xent("sweep -q -c " + (dir / "s.toml").string() + " --out " + out);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("2 runs failed"), std::string::npos) << r.err;
  const auto table = rows(dir / "out/results.jsonl");
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table[0]["status"], "failed");
  EXPECT_NE(table[0]["error"].get<std::string>().find("diverged"), std::string::npos);
  EXPECT_EQ(table[2]["status"], "ok");
  EXPECT_TRUE(fs::exists(dir / "out/runs/blowup_seed4/failed.json"));
}

// A sweep in shards (as a SLURM array runs it): each shard trains its share of the populations
// into one OUT, --gather writes the table, and it equals the unsharded sweep's.
TEST(SweepCli, ShardsAndGatherGiveTheWholeSweepsTable) {
  const fs::path dir = scratch("shards");
  std::ofstream(dir / "s.toml") << kShared << "[grid]\ndgp.d = [3, 4, 5]\n";
  const std::string sweep = "sweep -q -c " + (dir / "s.toml").string() + " --out ";
  const std::string whole = (dir / "whole").string(), sharded = (dir / "sharded").string();
  ASSERT_EQ(xent::test::run_xent(sweep + whole).code, 0);
  const auto first = xent::test::run_xent(sweep + sharded + " --shard 0/2");
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_FALSE(fs::exists(dir / "sharded/results.csv"));  // shard 1 has not run yet
  // The second shard from SLURM's variables: task 8 of an array that starts at 7.
  setenv("SLURM_ARRAY_TASK_ID", "8", 1);
  setenv("SLURM_ARRAY_TASK_MIN", "7", 1);
  setenv("SLURM_ARRAY_TASK_COUNT", "2", 1);
  const auto second = xent::test::run_xent(sweep + sharded);
  const auto outside = xent::test::run_xent(sweep + sharded + " --shard 2/2");
  unsetenv("SLURM_ARRAY_TASK_ID");
  unsetenv("SLURM_ARRAY_TASK_MIN");
  unsetenv("SLURM_ARRAY_TASK_COUNT");
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(outside.code, 2);
  EXPECT_NE(outside.err.find("--shard: shard 2 is not in [0, 2)"), std::string::npos)
      << outside.err;
  // Each shard trained different populations: 3 populations (one per d), 6 runs in all.
  size_t trained = 0;
  for (const auto& f : fs::directory_iterator(dir / "sharded/shards"))
    trained += Json::parse(read(f.path()))["trained"].get<size_t>();
  EXPECT_EQ(trained, 6u);
  const auto g = xent::test::run_xent(sweep + sharded + " --gather");
  ASSERT_EQ(g.code, 0) << g.err;
  const auto a = rows(dir / "whole/results.jsonl"), b = rows(dir / "sharded/results.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    Json x = a[i], y = b[i];
    x.erase("wall_s");
    y.erase("wall_s");
    EXPECT_EQ(x, y) << i;
  }
  EXPECT_EQ(Json::parse(read(dir / "sharded/sweep.json"))["invocations"].size(), 2u);
  EXPECT_FALSE(fs::exists(dir / "sharded/shards/shard-0-of-2.json"));
}

TEST(SweepCli, GatherBeforeEveryShardEndedReportsTheMissingRuns) {
  const fs::path dir = scratch("gather_early");
  std::ofstream(dir / "s.toml") << kShared << "[grid]\ndgp.d = [3, 4]\n";
  const std::string sweep =
      "sweep -q -c " + (dir / "s.toml").string() + " --out " + (dir / "out").string();
  ASSERT_EQ(xent::test::run_xent(sweep + " --shard 1/2").code, 0);
  const auto g = xent::test::run_xent(sweep + " --gather");
  EXPECT_EQ(g.code, 3) << g.err;
  const auto table = rows(dir / "out/results.jsonl");
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table[0]["status"], "failed");  // d = 3 is shard 0's
  EXPECT_EQ(table[2]["status"], "ok");
  EXPECT_EQ(xent::test::run_xent(sweep + " --gather --shard 0/2").code, 2);
}

TEST(SweepCli, DryRunListsPopulationsAndBadInputFailsFirst) {
  const fs::path dir = scratch("dry");
  std::ofstream(dir / "s.toml") << kShared << "[grid]\ndgp.kappa = [5, 10, 50]\n";
  const std::string cmd =
      "sweep -c " + (dir / "s.toml").string() + " --out " + (dir / "out").string();
  const auto r = xent::test::run_xent(cmd + " --dry-run --max-population 4 2>&1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
  std::ofstream(dir / "bad.toml") << kShared << "[grid]\ndgp.kappa = [5]\ndgp.nope = [1]\n";
  const auto bad = xent::test::run_xent("sweep -c " + (dir / "bad.toml").string() + " --out " +
                                        (dir / "out").string());
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unknown key 'dgp.nope'"), std::string::npos) << bad.err;
  EXPECT_FALSE(fs::exists(dir / "out"));
  const auto steps = xent::test::run_xent(cmd + " --steps 0");
  EXPECT_EQ(steps.code, 2) << steps.err;
}

}  // namespace
