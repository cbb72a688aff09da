// `xent encode`: a run's encoder on observations, trained and at initialisation, and its
// refusals.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "run_xent.h"
#include "xent/npy.h"

namespace xent {
namespace {

namespace fs = std::filesystem;

TEST(EncodeCli, TrainedAndUntrainedFeaturesOfTheRunsObservations) {
  const fs::path dir = fs::temp_directory_path() / ("xent_encode_" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string run = (dir / "run").string(), s = (dir / "s").string();
  ASSERT_EQ(test::run_xent("train -q --set train.steps=20 --set train.batch=64 --set "
                           "train.eval_samples=512 --set model.hidden=[16] --out " +
                           run)
                .code,
            0);
  ASSERT_EQ(test::run_xent("sample -n 50 -c " + run + "/config.toml -o " + s).code, 0);
  const std::string x = s + "/observations.npy";
  const test::XentResult a =
      test::run_xent("encode --run " + run + " --inputs " + x + " --out " + run + "/f.npy");
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(test::run_xent("encode --untrained --run " + run + " --inputs " + x + " --out " + run +
                           "/f0.npy")
                .code,
            0);
  const NpyArray f = read_npy(run + "/f.npy"), f0 = read_npy(run + "/f0.npy");
  EXPECT_EQ(f.shape, (std::vector<int64_t>{50, 5}));
  EXPECT_EQ(f0.shape, f.shape);
  EXPECT_NE(f.data, f0.data) << "twenty steps of training change the encoder";
  // The same call twice: the same features.
  ASSERT_EQ(
      test::run_xent("encode --run " + run + " --inputs " + x + " --out " + run + "/g.npy").code,
      0);
  EXPECT_EQ(read_npy(run + "/g.npy").data, f.data);
  // Observations of another width, a replica the run does not have, a directory with no run.
  const test::XentResult wide = test::run_xent("encode --run " + run + " --inputs " + s +
                                               "/mixing.npy --out " + run + "/h.npy");
  EXPECT_EQ(wide.code, 2);
  EXPECT_NE(wide.err.find("expected observations [n][5]"), std::string::npos) << wide.err;
  const test::XentResult replica = test::run_xent("encode --run " + run + " --inputs " + x +
                                                  " --replica 3 --out " + run + "/h.npy");
  EXPECT_NE(replica.err.find("--replica 3: the run has 1 replica(s)"), std::string::npos)
      << replica.err;
  const test::XentResult none =
      test::run_xent("encode --run " + s + " --inputs " + x + " --out " + run + "/h.npy");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("checkpoint.xck: missing"), std::string::npos) << none.err;
  EXPECT_FALSE(fs::exists(run + "/h.npy"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace xent
