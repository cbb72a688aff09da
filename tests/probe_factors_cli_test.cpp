// `xent probe-factors` end to end: ImageNet-X annotations aligned by file name, the files it
// writes, and its one-line refusals of inputs that do not fit together.
#include <gtest/gtest.h>
#include <stb_image.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "run_xent.h"
#include "xent/npy.h"

namespace xent {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kFactors = {"multiple_objects",
                                           "background",
                                           "color",
                                           "brighter",
                                           "darker",
                                           "style",
                                           "larger",
                                           "smaller",
                                           "object_blocking",
                                           "person_blocking",
                                           "partial_view",
                                           "pattern",
                                           "pose",
                                           "shape",
                                           "subcategory",
                                           "texture"};

// A directory of its own (the process id in the name: test runs may overlap).
fs::path scratch(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("xent_probe_factors_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// 300 images: features [300][6], file names in feature order, annotations in another order,
// each factor a noisy function of one feature column (so every factor has both classes).
struct Files {
  fs::path dir, features, names, jsonl;
};

Files write_files(const std::string& name, bool drop_a_key = false) {
  Files f{scratch(name), {}, {}, {}};
  f.features = f.dir / "feat.npy";
  f.names = f.dir / "names.txt";
  f.jsonl = f.dir / "ann.jsonl";
  const int n = 300, p = 6;
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  std::vector<float> x(static_cast<size_t>(n) * p);
  for (float& v : x) v = normal(gen) + 0.5f;
  write_npy(f.features.string(), x.data(), {n, p});
  std::ofstream names(f.names), ann(f.jsonl);
  for (int i = 0; i < n; ++i) names << "img_" << i << ".JPEG\n";
  for (int i = n; i-- > 0;) {
    nlohmann::json j = {{"file_name", "img_" + std::to_string(i) + ".JPEG"},
                        {"class", static_cast<int>(gen() % 1000)}};
    for (size_t k = 0; k < kFactors.size(); ++k)
      j[kFactors[k]] = x[static_cast<size_t>(i) * p + k % p] + 0.3f * normal(gen) > 0.5f ? 1 : 0;
    if (drop_a_key && i == 7) j.erase("texture");
    j["justification"] = "text the probe ignores";
    ann << j.dump() << "\n";
  }
  return f;
}

std::string args(const Files& f, const std::string& extra = "") {
  return "probe-factors --features feat=" + f.features.string() + " --targets " + f.jsonl.string() +
         " --file-names " + f.names.string() + " --out " + (f.dir / "out").string() + " " + extra;
}

TEST(ProbeFactorsCli, ImagenetXAnnotationsGiveEveryTargetRepeatAndPart) {
  const Files f = write_files("ok");
  const test::XentResult r = test::run_xent(args(f, "--repeats 2"));
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(f.dir / "out" / "results.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["targets"].size(), 17u);
  EXPECT_EQ(j["targets"][0], "class");
  EXPECT_EQ(j["results"].size(), 17u * 2 * 2);
  EXPECT_EQ(j["features"][0]["kept"], 6);
  EXPECT_EQ(j["options"]["repeats"], 2);
  const nlohmann::json& first = j["results"][0];
  for (const char* key : {"accuracy", "pearson", "precision", "recall", "f1", "roc_auc", "pr_auc",
                          "iterations", "converged"})
    EXPECT_TRUE(first.contains(key)) << key;
  EXPECT_TRUE(fs::exists(f.dir / "out" / "results.csv"));
  fs::remove_all(f.dir);
}

// Pixels of colour (r, g, b) in an RGB PNG; -1 when it cannot be read.
long count_colour(const fs::path& png, int r, int g, int b) {
  int w = 0, h = 0, channels = 0;
  unsigned char* px = stbi_load(png.string().c_str(), &w, &h, &channels, 3);
  if (!px) return -1;
  long n = 0;
  for (long i = 0; i < long{w} * h; ++i)
    n += px[3 * i] == r && px[3 * i + 1] == g && px[3 * i + 2] == b;
  stbi_image_free(px);
  return n;
}

TEST(ProbeFactorsCli, TheFigureDrawsEveryFeatureSet) {
  const Files f = write_files("figure");
  const test::XentResult r =
      test::run_xent(args(f, "--repeats 3 --features again=" + f.features.string()));
  ASSERT_EQ(r.code, 0) << r.err;
  const fs::path png = f.dir / "out" / "factors.png";
  ASSERT_TRUE(fs::exists(png));
  EXPECT_FALSE(fs::exists(f.dir / "out" / "factors.png.tmp"));
  // The first two colours of the cycle (host/experiments/imagenet_x/factor_figure.cpp), one per
  // feature set: 17 markers each and the legend's; the third colour is not used.
  EXPECT_GT(count_colour(png, 31, 119, 180), 17 * 30);
  EXPECT_GT(count_colour(png, 255, 127, 14), 17 * 30);
  EXPECT_EQ(count_colour(png, 44, 160, 44), 0);
  fs::remove_all(f.dir);
}

TEST(ProbeFactorsCli, RepeatsZeroWritesTheWeights) {
  const Files f = write_files("weights");
  const test::XentResult r = test::run_xent(args(f, "--repeats 0"));
  ASSERT_EQ(r.code, 0) << r.err;
  const NpyArray w = read_npy((f.dir / "out" / "feat_weights.npy").string());
  EXPECT_EQ(w.shape, (std::vector<int64_t>{17, 6}));
  const NpyArray b = read_npy((f.dir / "out" / "feat_intercepts.npy").string());
  EXPECT_EQ(b.shape, (std::vector<int64_t>{17}));
  fs::remove_all(f.dir);
}

// A .csv of class labels with a 3-class target: results.json lists every target's classes, the
// multiclass rows carry no binary-only metric, and --repeats 0 writes one weight file per target.
TEST(ProbeFactorsCli, MulticlassCsvTargets) {
  const Files f = write_files("multiclass");
  const NpyArray x = read_npy(f.features.string());
  {
    std::ofstream csv(f.dir / "y.csv");
    csv << "big,third\n";
    for (int64_t i = 0; i < x.shape[0]; ++i) {
      const double a = x.data[static_cast<size_t>(i * x.shape[1])];
      csv << (a > 0 ? 1 : 0) << "," << (a < -0.5 ? 0 : a < 0.5 ? 1 : 2) << "\n";
    }
  }
  const std::string base = "probe-factors --features feat=" + f.features.string() + " --targets " +
                           (f.dir / "y.csv").string() + " --force --out ";
  test::XentResult r = test::run_xent(base + (f.dir / "out").string() + " --repeats 2");
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(f.dir / "out" / "results.json");
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["classes"], (nlohmann::json{2, 3}));
  ASSERT_EQ(j["results"].size(), 2u * 2 * 2);
  for (const auto& row : j["results"]) {
    EXPECT_EQ(row["roc_auc"].is_null(), row["target"] == "third") << row.dump();
    EXPECT_TRUE(row["f1"].is_number()) << row.dump();
  }
  r = test::run_xent(base + (f.dir / "out0").string() + " --repeats 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_npy((f.dir / "out0" / "feat_third_weights.npy").string()).shape,
            (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(read_npy((f.dir / "out0" / "feat_big_weights.npy").string()).shape,
            (std::vector<int64_t>{1, 6}));
  {
    std::ofstream csv(f.dir / "y.csv");
    csv << "big,third\n";
    for (int64_t i = 0; i < x.shape[0]; ++i)
      csv << (i % 2) << "," << (i == 5 ? "2.5" : "1") << "\n";
  }
  r = test::run_xent(base + (f.dir / "out1").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("expected a class label (an integer >= 0), got 2.5"), std::string::npos)
      << r.err;
  fs::remove_all(f.dir);
}

void expect_refused(const std::string& a, const std::string& needle, const fs::path& dir) {
  const test::XentResult r = test::run_xent(a);
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out" / "results.json")) << "no results after a refusal";
}

TEST(ProbeFactorsCli, InputsThatDoNotFitAreRefusedByName) {
  Files f = write_files("bad", true);
  expect_refused(args(f), "has no numeric \"texture\"", f.dir);
  f = write_files("bad");
  {
    std::ofstream names(f.names, std::ios::app);
    names << "extra.JPEG\n";
  }
  expect_refused(args(f), "301 file names, but the features have 300 rows", f.dir);
  f = write_files("bad");
  {
    std::ofstream names(f.names);
    for (int i = 0; i < 300; ++i)
      names << (i == 4 ? "missing.JPEG" : "img_" + std::to_string(i) + ".JPEG") << "\n";
  }
  expect_refused(args(f), "names.txt:5: missing.JPEG is not in", f.dir);
  expect_refused("probe-factors --features feat=" + f.features.string() + " --targets " +
                     f.jsonl.string() + " --out " + (f.dir / "out").string(),
                 "a .jsonl needs --file-names", f.dir);
  f = write_files("bad");
  expect_refused(args(f, "--feature-filter maybe"), "--feature-filter", f.dir);
  expect_refused(args(f, "--test-fraction 0"), "--test-fraction", f.dir);
  fs::remove_all(f.dir);
}

}  // namespace
}  // namespace xent
