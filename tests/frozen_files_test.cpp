// dgp.centres_file and dgp.mixing_file: the DGP's frozen parts read from .npy files instead of
// drawn. Files written from one seed's draws give that seed's DGP exactly under any other seed;
// each malformed file is one InputError naming the key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "xent/config.h"
#include "xent/dgp.h"
#include "xent/error.h"
#include "xent/npy.h"

namespace xent {
namespace {

namespace fs = std::filesystem;

class FrozenFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("xent_frozen_files_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    p_.d = 5;
    p_.clusters = 7;
    p_.mixing_layers = 3;
    p_.mixing_cond_draws = 50;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // p_ with both files written from seed `from`'s draws.
  DgpParams from_files(uint64_t from) const {
    DgpParams q = p_;
    q.centres_file = path("centres.npy");
    q.mixing_file = path("mixing.npy");
    write_npy(q.centres_file, draw_centres(p_, from).data(), {p_.clusters, p_.d});
    write_npy(q.mixing_file, draw_mixing(p_, from, 1).data(), {p_.mixing_layers, p_.d, p_.d});
    return q;
  }

  // The InputError's message, "" if none was thrown.
  template <class F>
  static std::string error_of(F f) {
    try {
      f();
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  DgpParams p_;
};

TEST_F(FrozenFilesTest, FilesFromASeedGiveThatSeedsDgpExactly) {
  const DgpParams q = from_files(3);
  // Any seed reads the same parts...
  EXPECT_EQ(draw_centres(q, 99), draw_centres(p_, 3));
  EXPECT_EQ(draw_mixing(q, 99, 1), draw_mixing(p_, 3, 1));
  // ...and under the seed they came from, the samples are the drawn DGP's, bit for bit.
  const DgpSamples a = draw_samples(p_, 3, 64), b = draw_samples(q, 3, 64);
  EXPECT_EQ(a.z, b.z);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.labels, b.labels);
  // The seed still draws the samples: another seed, other latents from the same parts.
  EXPECT_NE(draw_samples(q, 4, 64).z, a.z);
}

TEST_F(FrozenFilesTest, APopulationMixesReadAndDrawnWeights) {
  const DgpParams q = from_files(3);
  const auto w = draw_mixing_population({q, p_, q}, {10, 5, 11}, 2);
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0], draw_mixing(p_, 3, 1));
  EXPECT_EQ(w[1], draw_mixing(p_, 5, 1));
  EXPECT_EQ(w[2], w[0]);
}

TEST_F(FrozenFilesTest, FloatSixtyFourFilesAreRead) {
  // numpy's default dtype: the values rounded to float32, as the drawn parts are.
  std::vector<double> c(static_cast<size_t>(p_.clusters * p_.d), 0.0);
  for (int r = 0; r < p_.clusters; ++r) c[static_cast<size_t>(r * p_.d + r % p_.d)] = 1.0;
  DgpParams q = p_;
  q.centres_file = path("c64.npy");
  write_npy(q.centres_file, c.data(), {p_.clusters, p_.d});
  const std::vector<float> got = draw_centres(q, 0);
  EXPECT_EQ(got, std::vector<float>(c.begin(), c.end()));
}

TEST_F(FrozenFilesTest, MalformedFilesAreOneErrorNamingTheKey) {
  DgpParams q = p_;
  q.centres_file = path("missing.npy");
  EXPECT_NE(error_of([&] { draw_centres(q, 0); }).find("dgp.centres_file: "), std::string::npos);

  // Shape: the file's d or layer count other than the config's.
  const std::vector<float> w = draw_mixing(p_, 1, 1);
  q = p_;
  q.mixing_file = path("mixing.npy");
  write_npy(q.mixing_file, w.data(), {p_.mixing_layers, p_.d, p_.d});
  q.mixing_layers = 4;
  const std::string shape = error_of([&] { draw_mixing(q, 0, 1); });
  EXPECT_NE(shape.find("dgp.mixing_file: "), std::string::npos) << shape;
  EXPECT_NE(shape.find("has shape [3, 5, 5], expected"), std::string::npos) << shape;

  // Centres not of unit norm.
  std::vector<float> c = draw_centres(p_, 1);
  c[2 * p_.d] *= 1.5f;
  q = p_;
  q.centres_file = path("centres.npy");
  write_npy(q.centres_file, c.data(), {p_.clusters, p_.d});
  const std::string norm = error_of([&] { draw_centres(q, 0); });
  EXPECT_NE(norm.find("row 2 has norm"), std::string::npos) << norm;

  // A non-finite weight.
  std::vector<float> bad = w;
  bad[7] = std::numeric_limits<float>::quiet_NaN();
  q = p_;
  q.mixing_file = path("nan.npy");
  write_npy(q.mixing_file, bad.data(), {p_.mixing_layers, p_.d, p_.d});
  const std::string nan = error_of([&] { draw_mixing(q, 0, 1); });
  EXPECT_NE(nan.find("non-finite value at flat index 7"), std::string::npos) << nan;
}

TEST_F(FrozenFilesTest, ConfigKeepsThePathAbsolute) {
  const Config c = load_config("", "", {"dgp.centres_file=some/dir/../c.npy"});
  EXPECT_EQ(c.dgp.centres_file, (fs::current_path() / "some" / "c.npy").string());
  EXPECT_TRUE(c.dgp.mixing_file.empty());
  // The resolved config names the same file when read back.
  EXPECT_EQ(load_config_text("", to_toml(c), "config.toml", {}).dgp.centres_file,
            c.dgp.centres_file);
}

TEST_F(FrozenFilesTest, ConfigWritesBackQuotesAndBackslashesInAPath) {
  // Bare --set words are taken as strings, so a name may hold the characters TOML escapes.
  const Config c = load_config("", "", {R"(dgp.mixing_file=a"b\c.npy)"});
  EXPECT_EQ(fs::path(c.dgp.mixing_file).filename().string(), R"(a"b\c.npy)");
  EXPECT_EQ(load_config_text("", to_toml(c), "config.toml", {}).dgp.mixing_file, c.dgp.mixing_file);
}

TEST_F(FrozenFilesTest, ConfigRefusesAPathThatIsNotPrintableAscii) {
  for (const char* set : {"dgp.centres_file=a\tb.npy", "dgp.centres_file=d\xC3\xA9.npy"}) {
    const std::string e = error_of([&] { load_config("", "", {set}); });
    EXPECT_NE(e.find("dgp.centres_file: a file name may hold only printable ASCII"),
              std::string::npos)
        << e;
  }
}

}  // namespace
}  // namespace xent
