// Checkpoints and resume: the file format, bit-exact continuation (in process and through
// `xent train --resume`), refusal of damaged or foreign checkpoints, and the divergence guard.
#include "xent/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "cpu/cpu_backend.h"
#include "io/files.h"
#include "run_xent.h"
#include "xent/error.h"
#include "xent/trainer.h"
#include "xent/trainer_run.h"

namespace xent {
namespace {

namespace fs = std::filesystem;

Config small_config(int K, uint64_t seed, std::vector<std::string> extra = {}) {
  std::vector<std::string> sets = {"model.hidden=[16, 32, 16]", "train.batch=64",
                                   "train.eval_samples=512", "dgp.clusters=10",
                                   "dgp.mixing_cond_draws=200"};
  sets.insert(sets.end(), extra.begin(), extra.end());
  Config c = load_config("", "", sets);
  c.train.population = K;
  c.train.seed = seed;
  return c;
}

fs::path scratch(const std::string& name) {
  const fs::path p =
      fs::temp_directory_path() / ("xent_checkpoint_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(p);
  return p;
}

std::map<std::string, std::vector<float>> download_state(Trainer& t) {
  std::map<std::string, std::vector<float>> out;
  for (const StateTensor& s : t.state()) {
    std::vector<float> h(static_cast<size_t>(s.size) * t.config().train.population);
    t.backend().download(h.data(), s.data, h.size() * sizeof(float));
    out[s.name] = std::move(h);
  }
  return out;
}

bool same_bits(const ReplicaMetrics& a, const ReplicaMetrics& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

std::vector<char> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::vector<char>& b) {
  std::ofstream(p, std::ios::binary | std::ios::trunc).write(b.data(), std::streamsize(b.size()));
}

TEST(Checkpoint, Crc32IsTheZlibOne) {
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  // Chaining over pieces gives the CRC of the whole.
  EXPECT_EQ(crc32("56789", 5, crc32("1234", 4)), 0xCBF43926u);
  EXPECT_EQ(crc32("", 0), 0u);
}

TEST(Checkpoint, ConfigHashesSeeShapeAndSettings) {
  const Config a = small_config(1, 0);
  Config longer = a;
  longer.train.steps *= 3;
  EXPECT_EQ(config_hash(a), config_hash(longer));  // extending a run is allowed
  EXPECT_EQ(config_shape_hash(a), config_shape_hash(longer));
  Config kappa = a;
  kappa.dgp.kappa = 50;
  EXPECT_NE(config_hash(a), config_hash(kappa));
  EXPECT_EQ(config_shape_hash(a), config_shape_hash(kappa));
  Config wide = a;
  wide.model.hidden = {16, 64, 16};
  EXPECT_NE(config_shape_hash(a), config_shape_hash(wide));
}

// The claim behind the format: step count, parameters, Adam moments and running statistics
// are the whole state. A run checkpointed at step 7 (after an evaluation, as the CLI does),
// reloaded into a fresh trainer and continued, ends bit for bit where an uninterrupted run
// does: every tensor and every metric.
TEST(Checkpoint, ResumedTrainerContinuesBitForBit) {
  struct Case {
    int K;
    std::vector<std::string> extra;
  };
  for (const Case& cs :
       {Case{1, {}}, Case{3, {"model.normalize_head=true", "model.normalize_output=true"}},
        Case{3, {"dgp.labels=diet", "dgp.instances=50"}}}) {
    const Config c = small_config(cs.K, 11, cs.extra);
    const fs::path file = scratch("trainer_" + std::to_string(cs.K)) += ".xck";
    CpuBackend b;
    Trainer whole(b, c);
    for (int s = 0; s < 7; ++s) whole.step();
    whole.evaluate();
    for (int s = 0; s < 9; ++s) whole.step();
    const auto want = whole.evaluate();
    const auto want_state = download_state(whole);

    {
      Trainer first(b, c);
      for (int s = 0; s < 7; ++s) first.step();
      first.evaluate();
      write_checkpoint(file.string(), first);
    }
    Trainer resumed(b, c);
    const Checkpoint ck = read_checkpoint(file.string());
    EXPECT_EQ(ck.step, 7);
    restore_checkpoint(resumed, ck, file.string());
    EXPECT_EQ(resumed.steps_done(), 7);
    for (int s = 0; s < 9; ++s) resumed.step();
    const auto got = resumed.evaluate();
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k)
      EXPECT_TRUE(same_bits(got[k], want[k])) << "K=" << cs.K << " replica " << k;
    const auto got_state = download_state(resumed);
    for (const auto& [name, v] : want_state)
      EXPECT_EQ(0, std::memcmp(v.data(), got_state.at(name).data(), v.size() * sizeof(float)))
          << "K=" << cs.K << " " << name;
    fs::remove(file);
  }
}

TEST(Checkpoint, FileHoldsEveryStateTensorWithItsShape) {
  const Config c = small_config(2, 3);
  const fs::path file = scratch("layout.xck");
  CpuBackend b;
  Trainer t(b, c);
  t.step();
  write_checkpoint(file.string(), t);
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  const Checkpoint ck = read_checkpoint(file.string());
  EXPECT_EQ(ck.version, kCheckpointVersion);
  EXPECT_EQ(ck.seeds, (std::vector<uint64_t>{3, 4}));
  const auto state = download_state(t);
  ASSERT_EQ(ck.tensors.size(), state.size());
  // Parameters, then the Adam moments, then the running statistics.
  EXPECT_EQ(ck.tensors.front().name, "enc.0.weight");
  EXPECT_EQ(ck.tensors.back().name, "enc.2.bn.running_var");
  for (const auto& ct : ck.tensors) {
    const auto& v = state.at(ct.name);
    ASSERT_EQ(ct.shape.size(), 2u) << ct.name;
    EXPECT_EQ(ct.shape[0], 2) << ct.name;
    EXPECT_EQ(ct.data, v) << ct.name;
  }
  fs::remove(file);
}

TEST(Checkpoint, AnUncommittedWriteKeepsThePreviousFile) {
  const fs::path file = scratch("atomic.txt");
  write_file_atomic(file.string(), "old");
  {
    AtomicFile f(file.string());
    f.write("new, but never committed", 24);
  }  // as if the writer threw half way
  EXPECT_EQ(slurp(file), (std::vector<char>{'o', 'l', 'd'}));
  EXPECT_FALSE(fs::exists(file.string() + ".tmp"));
  fs::remove(file);
}

// Damaged files are refused with an InputError, never a crash or an out-of-bounds read: every
// truncation, every flipped byte, and structural damage behind a valid checksum.
TEST(Checkpoint, DamagedBytesAreRefusedCleanly) {
  const Config c = small_config(1, 0, {"model.hidden=[4]", "dgp.clusters=3"});
  const fs::path file = scratch("fuzz.xck");
  CpuBackend b;
  Trainer t(b, c);
  write_checkpoint(file.string(), t);
  const std::vector<char> good = slurp(file);
  ASSERT_NO_THROW(parse_checkpoint(good, "x"));
  auto refused = [](const std::vector<char>& bytes) {
    try {
      parse_checkpoint(bytes, "x");
    } catch (const InputError&) {
      return true;
    }
    return false;
  };
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_TRUE(refused({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)})) << n;
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<char> bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_TRUE(refused(bad)) << i;
  }
  // Random structural damage with the checksum recomputed: parse or refuse, nothing else.
  std::mt19937 rng(1);
  for (int trial = 0; trial < 3000; ++trial) {
    std::vector<char> bad = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = 48 + rng() % (bad.size() - 52);
      bad[at] = static_cast<char>(rng() % 3 == 0 ? 0xFF : rng());
    }
    const uint32_t crc = crc32(bad.data(), bad.size() - 4);
    std::memcpy(bad.data() + bad.size() - 4, &crc, 4);
    try {
      parse_checkpoint(bad, "x");
    } catch (const InputError&) {
    }
  }
  fs::remove(file);
}

TEST(Checkpoint, FindsAnInjectedNaNByReplicaAndTensor) {
  const Config c = small_config(3, 20);
  CpuBackend b;
  Trainer t(b, c);
  t.step();
  EXPECT_FALSE(t.find_nonfinite(true));
  const ParamTensor* w = nullptr;
  for (const auto& pt : t.model().tensors())
    if (pt.name == "enc.1.weight") w = &pt;
  ASSERT_NE(w, nullptr);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  b.upload(t.model().params() + w->offset + 1 * w->size + 5, &nan, sizeof nan);
  // The loss of the last step is still finite: only a parameter check sees it.
  EXPECT_FALSE(t.find_nonfinite(false));
  auto d = t.find_nonfinite(true);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->replica, 1);
  EXPECT_EQ(d->seed, 21u);
  EXPECT_EQ(d->tensor, "enc.1.weight");
  EXPECT_EQ(d->step, 1);
  // One step later the loss shows it, and the cheap check names the parameter too.
  t.step();
  d = t.find_nonfinite(false);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->replica, 1);
  EXPECT_EQ(d->step, 2);
  EXPECT_EQ(d->tensor.rfind("enc.", 0), 0u) << d->tensor;
  // The other replicas never saw it: replicas share launches, not data.
  const auto loss = t.last_loss();
  EXPECT_TRUE(std::isfinite(loss[0]));
  EXPECT_TRUE(std::isfinite(loss[2]));
  EXPECT_FALSE(std::isfinite(loss[1]));
}

// ---- the CLI ----

using Result = xent::test::XentResult;
Result xent(const std::string& args) { return xent::test::run_xent(args); }

const std::string kSmall =
    " -q --set train.batch=32 --set model.hidden=[8,16] --set train.eval_samples=128"
    " --set dgp.clusters=10 --set dgp.mixing_cond_draws=50 --set train.eval_every=20"
    " --set train.checkpoint_every=10";

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

// metrics.jsonl rows without the wall-clock time, keyed by (step, replica).
std::map<std::pair<int64_t, int64_t>, nlohmann::json> metric_rows(const fs::path& p) {
  std::map<std::pair<int64_t, int64_t>, nlohmann::json> out;
  std::ifstream in(p);
  for (std::string l; std::getline(in, l);) {
    nlohmann::json j = nlohmann::json::parse(l);
    j.erase("wall_s");
    const auto key = std::make_pair(j["step"].get<int64_t>(), j["replica"].get<int64_t>());
    EXPECT_FALSE(out.count(key)) << "duplicate row " << l;
    out[key] = j;
  }
  return out;
}

TEST(Checkpoint, CliResumeEndsWhereAnUninterruptedRunEnds) {
  for (int K : {1, 3}) {
    const std::string pop = " --set train.population=" + std::to_string(K);
    const fs::path whole = scratch("whole"), part = scratch("part");
    ASSERT_EQ(xent("train" + kSmall + pop + " --set train.steps=60 --out " + whole.string()).code,
              0);
    // A run that stopped at step 30, with its summary never written, and a row from an
    // evaluation after its last checkpoint (a crash in between): resume drops that row.
    ASSERT_EQ(xent("train" + kSmall + pop + " --set train.steps=30 --out " + part.string()).code,
              0);
    fs::remove(part / "summary.json");
    std::ofstream(part / "metrics.jsonl", std::ios::app)
        << "{\"step\": 45, \"replica\": 0, \"r2_a\": 0.5}\n{\"step\": 50, \"repl";
    const Result r = xent("train -q --resume " + part.string() + " --set train.steps=60");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto a = read_json(whole / "summary.json"), b = read_json(part / "summary.json");
    EXPECT_EQ(a["replicas"].size(), static_cast<size_t>(K));
    // nlohmann prints doubles with round-trip precision: equal text is equal bits.
    EXPECT_EQ(a["replicas"].dump(), b["replicas"].dump()) << "K=" << K;
    const auto ra = metric_rows(whole / "metrics.jsonl"), rb = metric_rows(part / "metrics.jsonl");
    for (const auto& [key, row] : ra) {
      ASSERT_TRUE(rb.count(key)) << "step " << key.first;
      EXPECT_EQ(row.dump(), rb.at(key).dump());
    }
    // Plus the rows of the shorter run's final evaluation at step 30, and nothing else.
    EXPECT_EQ(rb.size(), ra.size() + K);
    EXPECT_FALSE(rb.count({45, 0}));
    EXPECT_EQ(read_json(part / "summary.json")["steps"], 60);
    // config.toml now says 60 steps, so a later --resume continues to 60, not 30.
    std::ifstream cfg(part / "config.toml");
    const std::string text((std::istreambuf_iterator<char>(cfg)), {});
    EXPECT_NE(text.find("steps = 60"), std::string::npos);
  }
}

TEST(Checkpoint, CliResumeOfAFinishedRunAddsNoRows) {
  // A crash after the final checkpoint but before summary.json: resume only re-evaluates.
  const fs::path dir = scratch("finished");
  ASSERT_EQ(xent("train" + kSmall + " --set train.steps=20 --out " + dir.string()).code, 0);
  const auto want = read_json(dir / "summary.json");
  const auto rows = metric_rows(dir / "metrics.jsonl");
  fs::remove(dir / "summary.json");
  const Result r = xent("train -q --resume " + dir.string());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_json(dir / "summary.json")["replicas"].dump(), want["replicas"].dump());
  EXPECT_EQ(metric_rows(dir / "metrics.jsonl").size(), rows.size());
}

void expect_refused(const std::string& args, const fs::path& dir, const std::string& needle) {
  // Nothing in DIR may change: snapshot every file.
  std::map<std::string, std::vector<char>> before;
  for (const auto& e : fs::directory_iterator(dir)) before[e.path().string()] = slurp(e.path());
  const Result r = xent(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << args << "\n" << r.err;  // one line
  std::map<std::string, std::vector<char>> after;
  for (const auto& e : fs::directory_iterator(dir)) after[e.path().string()] = slurp(e.path());
  EXPECT_TRUE(before == after) << args << ": the run directory changed";
}

TEST(Checkpoint, CliRefusesChangedKeysOnResume) {
  const fs::path dir = scratch("keys");
  ASSERT_EQ(xent("train" + kSmall + " --set train.steps=20 --out " + dir.string()).code, 0);
  const std::string resume = "train -q --resume " + dir.string();
  expect_refused(resume + " --set train.lr=0.1", dir, "--set train.lr: cannot change on --resume");
  expect_refused(resume + " --set model.hidden=[8]", dir, "model.hidden");
  expect_refused(resume + " --set train.steps=10", dir, "below the step of");
  expect_refused(resume + " --preset sup-base", dir, "cannot be given with it");
  expect_refused(resume + " --config " + (dir / "config.toml").string(), dir,
                 "cannot be given with it");
  expect_refused(resume + " --out " + scratch("elsewhere").string(), dir,
                 "cannot be given with it");
  const fs::path empty = scratch("empty");
  fs::create_directories(empty);
  expect_refused("train -q --resume " + empty.string(), empty, "config.toml: missing");
}

TEST(Checkpoint, CliRefusesDamagedAndForeignCheckpoints) {
  const fs::path dir = scratch("damaged"), other = scratch("other");
  ASSERT_EQ(xent("train" + kSmall + " --set train.steps=20 --out " + dir.string()).code, 0);
  const fs::path ck = dir / "checkpoint.xck";
  const std::string name = ck.string();
  const std::vector<char> good = slurp(ck);
  const std::string resume = "train -q --resume " + dir.string() + " --set train.steps=40";

  auto with = [&](const std::vector<char>& bytes, const std::string& needle) {
    spit(ck, bytes);
    expect_refused(resume, dir, name + ": " + needle);
  };
  with({good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2)},
       "truncated (" + std::to_string(good.size() / 2) + " bytes, expected " +
           std::to_string(good.size()) + ")");
  with({good.begin(), good.begin() + 20}, "truncated (20 bytes, shorter than a checkpoint header)");
  with({}, "truncated (0 bytes");
  std::vector<char> bad = good;
  bad[good.size() / 2] = static_cast<char>(bad[good.size() / 2] ^ 1);
  with(bad, "checksum mismatch");
  bad = good;
  bad[0] = 'Y';
  with(bad, "not an xent checkpoint (bad magic)");
  bad = good;
  bad[8] = 2;
  with(bad, "unsupported checkpoint version 2 (this xent reads version 1)");
  bad = good;
  bad.push_back(0);
  with(bad, "1 unexpected bytes after the checksum");

  // Checkpoints of other runs, copied in.
  auto foreign = [&](const std::string& sets, const std::string& needle) {
    fs::remove_all(other);
    ASSERT_EQ(
        xent("train" + kSmall + " --set train.steps=20" + sets + " --out " + other.string()).code,
        0);
    spit(ck, slurp(other / "checkpoint.xck"));
    expect_refused(resume, dir, name + ": " + needle);
  };
  foreign(" --set model.hidden=[8,32]",
          "written for a different model shape (tensor enc.1.weight holds 256 values per "
          "replica, this config needs 128");
  foreign(" --set dgp.d=6", "written for a different model shape (tensor enc.0.weight");
  foreign(" --set train.population=2", "holds 2 replicas, the config's train.population is 1");
  foreign(" --set train.seed=9", "written for train.seed=9, the config has 0");
  foreign(" --set dgp.kappa=50", "written by a run with a different config");

  fs::remove(ck);
  expect_refused(resume, dir, name + ": missing (nothing to resume from");
}

TEST(Checkpoint, CliDivergedRunExitsWith3AndKeepsTheLastGoodCheckpoint) {
  const fs::path dir = scratch("diverged");
  const Result r = xent("train" + kSmall +
                        " --set train.steps=50 --set train.lr=1e10 --set train.population=2"
                        " --set train.seed=4 --out " +
                        dir.string());
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  // Which tensor goes first depends on the run (here Adam's v overflows at the step-10
  // checkpoint, before any loss is bad); the message names it either way.
  for (const char* needle : {"xent: error: step ", ": replica 0 (seed 4) diverged: non-finite ",
                             "values in ", "last good checkpoint: ", "(step 0)"})
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << r.err;
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  const Checkpoint ck = read_checkpoint((dir / "checkpoint.xck").string());
  EXPECT_EQ(ck.step, 0);
  for (const auto& t : ck.tensors)
    for (float v : t.data) ASSERT_TRUE(std::isfinite(v)) << t.name;
  // --help documents the exit status.
  const std::string help_cmd = std::string(XENT_BINARY) + " train --help";
  FILE* p = popen(help_cmd.c_str(), "r");
  std::string help;
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), p)) help += buf.data();
  pclose(p);
  EXPECT_NE(help.find("3 the run diverged"), std::string::npos);
  EXPECT_NE(help.find("train.checkpoint_every = 5000"), std::string::npos);
}

}  // namespace
}  // namespace xent
