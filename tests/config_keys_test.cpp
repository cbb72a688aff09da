// What each config key may do: which keys may differ inside one population, which fix the
// checkpoint's shapes, which may change on --resume; and the checkpoint hashes, pinned so that
// checkpoints written by earlier builds still resume.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "xent/checkpoint.h"
#include "xent/config.h"
#include "xent/error.h"
#include "xent/trainer_run.h"

namespace xent {
namespace {

// One value other than the default for every key of the table (ListCoversEveryKey checks that
// a new key is added here).
const std::vector<std::string> kChanged = {
    "dgp.d=7",
    "dgp.clusters=20",
    "dgp.centres=laplace",
    "dgp.centre_scale=0.5",
    "dgp.conditional=normal",
    "dgp.kappa=50",
    "dgp.beta=3",
    "dgp.labels=diet",
    "dgp.instances=500",
    "dgp.mixing_layers=3",
    "dgp.mixing_cond_draws=100",
    "dgp.centres_file=centres.npy",
    "dgp.mixing_file=mixing.npy",
    "model.hidden=[16, 32]",
    "model.normalize_output=true",
    "model.normalize_head=true",
    "model.leaky_slope=0.2",
    "model.bn_eps=1e-3",
    "model.bn_momentum=0.5",
    "model.bn_eval=batch",
    "train.steps=10",
    "train.batch=64",
    "train.lr=0.01",
    "train.beta1=0.5",
    "train.beta2=0.9",
    "train.adam_eps=1e-6",
    "train.seed=9",
    "train.population=4",
    "train.eval_every=7",
    "train.checkpoint_every=3",
    "train.eval_samples=512",
    "train.eval_split=0.25",
    "train.tf32=true",
    "train.threads=3",
};

std::string key_of(const std::string& set) { return set.substr(0, set.find('=')); }

TEST(ConfigKeys, ListCoversEveryKey) {
  std::set<std::string> listed;
  for (const auto& s : kChanged) listed.insert(key_of(s));
  const std::vector<std::string>& all = config_key_names();
  EXPECT_EQ(listed, std::set<std::string>(all.begin(), all.end()));
  EXPECT_EQ(all.size(), kChanged.size());
}

TEST(ConfigKeys, ChangedValuesLoad) {
  // One value per key, each a valid config and other than the default.
  std::set<std::string> keys;
  for (const auto& s : kChanged) {
    EXPECT_TRUE(keys.insert(key_of(s)).second) << s;
    Config c;
    EXPECT_NO_THROW(c = load_config("", "", {s})) << s;
    EXPECT_NE(to_toml(c), to_toml(Config{})) << s;
  }
}

// The hashes a checkpoint stores: a change of their text or of what they include makes every
// existing checkpoint unresumable. Values computed by the build before the key attributes.
TEST(ConfigKeys, CheckpointHashesArePinned) {
  const Config defaults;
  EXPECT_EQ(config_hash(defaults), 0xcbf29ce484222325ull);  // no key differs: FNV-1a of ""
  EXPECT_EQ(config_shape_hash(defaults), 0x7a468d34900bc955ull);
  const Config diet = load_config("diet-kappa50", "",
                                  {"train.steps=777", "train.population=3", "train.seed=11",
                                   "model.hidden=[16, 32, 16]", "dgp.conditional=laplace"});
  EXPECT_EQ(config_hash(diet), 0x09522ca5c0f2748eull);
  EXPECT_EQ(config_shape_hash(diet), 0x3585505c47aa3fdaull);
  const Config sup = load_config(
      "sup-c10", "", {"dgp.d=10", "train.tf32=true", "train.checkpoint_every=0", "train.lr=3e-4"});
  EXPECT_EQ(config_hash(sup), 0x2ca6a8a11f064a12ull);
  EXPECT_EQ(config_shape_hash(sup), 0x5f09480bed68b11dull);
  // train.steps is outside config_hash: the same hashes at any length.
  Config longer = diet;
  longer.train.steps = 123456;
  EXPECT_EQ(config_hash(longer), config_hash(diet));
  EXPECT_EQ(config_shape_hash(longer), config_shape_hash(diet));
}

TEST(ConfigKeys, ConfigHashSeesEveryKeyButTheResumeKeys) {
  const std::vector<std::string> resume = resume_keys();
  const Config base;
  for (const auto& s : kChanged) {
    const bool resumable = std::count(resume.begin(), resume.end(), key_of(s)) > 0;
    EXPECT_EQ(config_hash(load_config("", "", {s})) == config_hash(base), resumable) << s;
  }
}

TEST(ConfigKeys, PerReplicaKeysAreTheFive) {
  const std::vector<std::string> expected = {"train.seed", "dgp.kappa", "dgp.centres",
                                             "dgp.centre_scale", "dgp.conditional"};
  EXPECT_EQ(per_replica_keys(), expected);
}

TEST(ConfigKeys, PopulationKeyIgnoresExactlyThePerReplicaKeys) {
  // Replicas of one population may differ in the per-replica keys and, since each replica's
  // train.population is ignored, in that; in any other key they may not.
  const std::set<std::string> ignored = {"train.seed",       "dgp.kappa",       "dgp.centres",
                                         "dgp.centre_scale", "dgp.conditional", "train.population"};
  const std::vector<std::string> base_sets = {"model.hidden=[8]", "train.steps=100"};
  const Config base = load_config("", "", base_sets);
  for (const auto& s : kChanged) {
    if (key_of(s) == "model.hidden" || key_of(s) == "train.steps") continue;
    std::vector<std::string> sets = base_sets;
    sets.push_back(s);
    const Config other = load_config("", "", sets);
    if (ignored.count(key_of(s)))
      EXPECT_EQ(population_key(other), population_key(base)) << s;
    else
      EXPECT_NE(population_key(other), population_key(base)) << s;
  }
  // model.hidden and train.steps against another value than base's.
  EXPECT_NE(population_key(load_config("", "", {"model.hidden=[9]", "train.steps=100"})),
            population_key(base));
  EXPECT_NE(population_key(load_config("", "", {"model.hidden=[8]", "train.steps=101"})),
            population_key(base));
  // All the per-replica keys at once.
  std::vector<std::string> sets = base_sets;
  for (const auto& s : kChanged)
    if (ignored.count(key_of(s))) sets.push_back(s);
  EXPECT_EQ(population_key(load_config("", "", sets)), population_key(base));
}

TEST(ConfigKeys, TheTableSaysWhatEachKeyMayDo) {
  EXPECT_EQ(population_keys(), std::vector<std::string>{"train.population"});
  EXPECT_EQ(resume_keys(), (std::vector<std::string>{"train.steps", "train.threads"}));
  const std::vector<std::string> shapes = {"dgp.d",         "dgp.clusters", "dgp.labels",
                                           "dgp.instances", "model.hidden", "train.population"};
  EXPECT_EQ(shape_keys(), shapes);
  // A per-replica key never fixes a shape: replicas share every tensor's shape.
  for (const auto& k : per_replica_keys())
    EXPECT_EQ(std::count(shape_keys().begin(), shape_keys().end(), k), 0) << k;
}

TEST(ConfigKeys, ShapeKeysAreWhatTheShapeHashSees) {
  // A key outside shape_keys() never changes config_shape_hash; each shape key does in one of
  // the label modes (dgp.clusters counts the classes only when supervised, dgp.instances only
  // for DIET).
  const std::vector<std::string> shapes = shape_keys();
  const Config sup = load_config("", "", {});
  const Config diet = load_config("", "", {"dgp.labels=diet"});
  for (const auto& s : kChanged) {
    const std::string key = key_of(s);
    const Config changed = load_config("", "", {s});
    bool moved = false;
    for (const Config& base : {sup, diet}) {
      Config c = base;
      copy_key(c, changed, key);
      moved = moved || config_shape_hash(c) != config_shape_hash(base);
    }
    const bool is_shape = std::count(shapes.begin(), shapes.end(), key) > 0;
    EXPECT_EQ(moved, is_shape) << key;
  }
}

TEST(ConfigKeys, CopyKeyCopiesOneField) {
  const Config from = load_config("", "", {"dgp.kappa=50", "model.hidden=[3, 4]", "train.seed=9"});
  Config to;
  copy_key(to, from, "model.hidden");
  EXPECT_EQ(to.model.hidden, (std::vector<int>{3, 4}));
  EXPECT_EQ(to.dgp.kappa, Config{}.dgp.kappa);
  copy_key(to, from, "train.seed");
  EXPECT_EQ(to.train.seed, 9u);
  // Copying every key gives the whole config.
  Config all;
  for (const auto& [key, value] : key_values(from)) copy_key(all, from, key);
  EXPECT_EQ(to_toml(all), to_toml(from));
  EXPECT_THROW(copy_key(to, from, "dgp.kapa"), std::invalid_argument);
}

TEST(ConfigKeys, OnlyTrainStepsAndThreadsMayChangeOnResume) {
  const Config run = load_config("", "", {"train.steps=100"});
  EXPECT_NO_THROW(check_resume_config(run, run));
  EXPECT_NO_THROW(check_resume_config(run, load_config("", "", {"train.steps=300"})));
  EXPECT_NO_THROW(check_resume_config(run, load_config("", "", {"train.threads=3"})));
  try {
    check_resume_config(run, load_config("", "", {"train.steps=100", "train.lr=0.1"}));
    FAIL() << "train.lr changed on resume";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(),
                 "--set train.lr: cannot change on --resume (the run used 0.001; only "
                 "train.steps or train.threads may change)");
  }
  // Every other key is refused, the evaluation and checkpoint cadence too.
  for (const auto& s : kChanged) {
    if (key_of(s) == "train.steps" || key_of(s) == "train.threads") continue;
    const Config resumed = load_config("", "", {"train.steps=100", s});
    try {
      check_resume_config(run, resumed);
      ADD_FAILURE() << s << " changed on resume";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--set " + key_of(s) + ": cannot change", 0), 0u)
          << e.what();
    }
  }
}

TEST(ConfigKeys, KeyListReadsAsEnglish) {
  EXPECT_EQ(key_list({}), "");
  EXPECT_EQ(key_list({"a"}), "a");
  EXPECT_EQ(key_list({"a", "b"}), "a or b");
  EXPECT_EQ(key_list({"a", "b", "c"}), "a, b or c");
}

}  // namespace
}  // namespace xent
