// Sweeps: populations of different per-replica configs, sweep files and their errors.
#include "experiments/synthetic/sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "cpu/cpu_backend.h"
#include "xent/error.h"

namespace xent {
namespace {

const std::vector<std::string> kSmall = {
    "model.hidden=[16, 32, 16]", "train.batch=64",  "train.steps=20",
    "train.eval_samples=512",    "dgp.clusters=10", "dgp.mixing_cond_draws=200"};

Config small(std::vector<std::string> extra) {
  std::vector<std::string> sets = kSmall;
  sets.insert(sets.end(), extra.begin(), extra.end());
  return load_config("", "", sets);
}

std::vector<ReplicaMetrics> train(const std::vector<Config>& replicas) {
  CpuBackend b;
  Trainer t(b, replicas);
  for (int64_t s = 0; s < replicas[0].train.steps; ++s) t.step();
  return t.evaluate();
}

TEST(SweepPopulation, ReplicasWithTheirOwnDgpEqualSingleRuns) {
  // Each replica draws its own centres, latents and evaluation set from its own config, so a
  // population of different seeds, kappas, centre and conditional distributions gives every
  // run the bits it gets alone.
  const std::vector<Config> runs = {
      small({"train.seed=3", "dgp.kappa=5", "dgp.conditional=laplace"}),
      small({"train.seed=8", "dgp.kappa=20", "dgp.centres=normal", "dgp.centre_scale=0.5"}),
      small({"train.seed=3"})};
  const auto together = train(runs);
  ASSERT_EQ(together.size(), runs.size());
  for (size_t k = 0; k < runs.size(); ++k) {
    const auto alone = train({runs[k]});
    EXPECT_EQ(0, std::memcmp(&together[k], &alone[0], sizeof alone[0])) << "replica " << k;
  }
  // And the runs are really different from one another.
  EXPECT_NE(together[0].r2_a, together[2].r2_a);
}

TEST(SweepPopulation, ReplicasOfDifferentShapesAreRefused) {
  CpuBackend b;
  try {
    Trainer t(b, {small({}), small({"dgp.d=4"})});
    FAIL() << "a population of d = 5 and d = 4 was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dgp.d (5 vs 4)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Trainer(b, {small({}), small({"train.lr=0.01"})}), InputError);
}

SweepPlan plan(const std::string& text, SweepOptions o = {}) {
  return plan_sweep_text(text, "s.toml", o);
}

const std::string kTiny =
    "seeds = [0, 1]\n[model]\nhidden = [8]\n[train]\nsteps = 100\neval_every = 50\n";

TEST(SweepPlan, RowsTimesGridTimesSeeds) {
  const SweepPlan p = plan(kTiny +
                           "[grid]\ndgp.kappa = [5, 50]\n"
                           "[[row]]\nname = \"base\"\n[[row]]\nname = \"d10\"\ndgp.d = 10\n");
  ASSERT_EQ(p.runs.size(), 8u);
  EXPECT_EQ(p.runs[0].id, "base_dgp.kappa=5_seed0");
  EXPECT_EQ(p.runs[3].id, "base_dgp.kappa=50_seed1");
  EXPECT_EQ(p.runs[4].id, "d10_dgp.kappa=5_seed0");
  EXPECT_EQ(p.runs[3].config.dgp.kappa, 50.0);
  EXPECT_EQ(p.runs[3].config.train.seed, 1u);
  EXPECT_EQ(p.runs[5].config.dgp.d, 10);
  EXPECT_EQ(p.runs[5].row, "d10");
  EXPECT_EQ(p.runs[5].config.model.hidden, std::vector<int>{8});
  // kappa and seed are per replica: one population per d.
  ASSERT_EQ(p.populations.size(), 2u);
  EXPECT_EQ(p.populations[0], (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(p.populations[1], (std::vector<size_t>{4, 5, 6, 7}));
}

TEST(SweepPlan, PopulationsAreCappedAndStepsOverridden) {
  SweepOptions o;
  o.max_population = 3;
  o.steps = 10;
  const SweepPlan p = plan(kTiny + "[grid]\ndgp.kappa = [5, 10, 50]\n", o);
  ASSERT_EQ(p.runs.size(), 6u);
  ASSERT_EQ(p.populations.size(), 2u);
  EXPECT_EQ(p.populations[0].size(), 3u);
  EXPECT_EQ(p.runs[0].config.train.steps, 10);
  // 2 evaluations at 100 steps, 2 at 10.
  EXPECT_EQ(p.runs[0].config.train.eval_every, 5);
}

// Table 2 runs every row twice, as the reference's scripts do: as given and with the rows of W
// normalised ("-normW"), which is all that tells the two apart.
TEST(SweepPlan, TableTwoRunsEveryRowWithAndWithoutNormalisedW) {
  const SweepPlan p = plan_sweep(std::string(XENT_CONFIGS_DIR) + "/table2_diet.toml", {});
  size_t pairs = 0;
  for (const SweepRun& r : p.runs) {
    if (r.row.ends_with("-normW")) continue;
    EXPECT_FALSE(r.config.model.normalize_head) << r.id;
    const std::string twin = r.row + "-normW";
    const auto it = std::find_if(p.runs.begin(), p.runs.end(), [&](const SweepRun& o) {
      return o.row == twin && o.seed == r.seed;
    });
    ASSERT_NE(it, p.runs.end()) << r.id << " has no " << twin;
    EXPECT_TRUE(it->config.model.normalize_head) << it->id;
    Config c = r.config;
    c.model.normalize_head = true;
    EXPECT_EQ(to_toml(c), to_toml(it->config)) << it->id;
    ++pairs;
  }
  EXPECT_EQ(2 * pairs, p.runs.size());
  EXPECT_EQ(pairs, 50u);  // the paper's ten rows, five seeds each
}

void expect_refused(const std::string& text, const std::string& needle, SweepOptions o = {}) {
  try {
    (void)plan(text, o);
    ADD_FAILURE() << "accepted:\n" << text;
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(needle), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(SweepPlan, BadFilesAreRefusedBeforeAnyRun) {
  expect_refused(kTiny + "[grid]\ndgp.kapa = [5]\n", "unknown key 'dgp.kapa'");
  expect_refused(kTiny + "[[row]]\nname = \"x\"\ntrain.lrr = 1\n", "unknown key 'train.lrr'");
  expect_refused(kTiny + "[grid]\ndgp.kappa = []\n", "[grid] dgp.kappa: expected a non-empty");
  expect_refused(kTiny + "[grid]\n", "[grid]: empty");
  expect_refused(kTiny + "[grid]\ndgp.kappa = [5, 5]\n", "listed twice");
  expect_refused("seeds = []\n", "seeds");
  expect_refused("seeds = [1, 1]\n", "listed twice");
  expect_refused("[train]\nseed = 3\n", "seeds = [...]");
  expect_refused("[train]\npopulation = 3\n", "--max-population");
  expect_refused("[dgp]\nd = 10\n[grid]\ndgp.d = [5]\n", "conflicts with s.toml");
  expect_refused("[grid]\ndgp.d = [5]\n[[row]]\nname = \"a\"\ndgp.d = 3\n", "conflicts");
  expect_refused("[[row]]\nname = \"a\"\n[[row]]\nname = \"a\"\n", "listed twice");
  expect_refused("[[row]]\ndgp.d = 3\n", "needs name");
  expect_refused("[[row]]\nname = \"a\"\ndgp.d = 1\n", "run a_seed0: dgp.d: must be >= 2");
  expect_refused("[dgp]\nd = \"five\"\n", "dgp.d: expected an integer");
  expect_refused("[dgp\n", "s.toml:1");
  SweepOptions o;
  o.sets = {"dgp.kappa=3"};
  expect_refused("[grid]\ndgp.kappa = [5]\n", "--set dgp.kappa: conflicts", o);
  o.sets = {"train.steps=3"};
  o.steps = 5;
  expect_refused("", "conflicts with --steps", o);
  o = {};
  o.max_population = 0;
  expect_refused("", "--max-population", o);
}

TEST(SweepPlan, RowsSelectsRowsAndSetEvalEveryIsKept) {
  SweepOptions o;
  o.rows = {"b"};
  o.steps = 10;
  o.sets = {"train.eval_every=4"};
  const std::string rows = "[[row]]\nname = \"a\"\n[[row]]\nname = \"b\"\ndgp.d = 3\n";
  const SweepPlan p = plan(kTiny + rows, o);
  ASSERT_EQ(p.runs.size(), 2u);
  EXPECT_EQ(p.runs[0].id, "b_seed0");
  EXPECT_EQ(p.runs[0].config.train.eval_every, 4);
  o.rows = {"c"};
  expect_refused(kTiny + rows, "no [[row]] named 'c'", o);
}

TEST(SweepPlan, SetReplacesTheFilesSharedKeys) {
  SweepOptions o;
  o.sets = {"train.batch=32"};
  const SweepPlan p = plan(kTiny, o);
  ASSERT_EQ(p.runs.size(), 2u);
  EXPECT_EQ(p.runs[1].config.train.batch, 32);
  EXPECT_EQ(p.runs[1].id, "seed1");
}

}  // namespace
}  // namespace xent
