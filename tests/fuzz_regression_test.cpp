// The fuzz targets' inputs as regression tests, in the normal build: every seed of
// tests/fuzz/corpus/<reader>/ and every input of tests/fuzz/regressions/<reader>/ (crashes the
// fuzzers found, and hand-made nasty inputs) goes through the reader as its fuzz target feeds it
// (tests/fuzz/readers.h), and must either parse or be refused with a one-line InputError.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/readers.h"

namespace xent {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Returns the number of inputs run.
template <class Feed>
size_t feed_all(const std::string& reader, Feed feed) {
  size_t n = 0;
  for (const char* kind : {"corpus", "regressions"}) {
    for (const fs::path& p : files_in(fs::path(XENT_FUZZ_DIR) / kind / reader)) {
      ++n;
      try {
        feed(slurp(p));
      } catch (const std::exception& e) {
        ADD_FAILURE() << p.string() << ": " << e.what();
      } catch (...) {
        ADD_FAILURE() << p.string() << ": a non-standard exception";
      }
    }
  }
  return n;
}

// The message an input is refused with, or "" when it parses.
template <class Parse>
std::string refusal(const std::string& reader, const std::string& file, Parse parse) {
  const std::string bytes = slurp(fs::path(XENT_FUZZ_DIR) / "regressions" / reader / file);
  EXPECT_FALSE(bytes.empty()) << reader << "/" << file << " is missing";
  try {
    parse(bytes);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_REFUSED(MESSAGE, FRAGMENT) \
  EXPECT_NE((MESSAGE).find(FRAGMENT), std::string::npos) << "message: " << (MESSAGE)

TEST(FuzzRegression, ConfigInputsParseOrThrowInputError) {
  EXPECT_GE(feed_all("config", fuzz::config_input), 10u);
}

TEST(FuzzRegression, NpyInputsParseOrThrowInputError) {
  EXPECT_GE(feed_all("npy", fuzz::npy_input), 10u);
}

TEST(FuzzRegression, CheckpointInputsParseOrThrowInputError) {
  EXPECT_GE(feed_all("checkpoint", fuzz::checkpoint_input), 5u);
}

// The seeds are meant to reach past the first checks: they must parse.
TEST(FuzzRegression, ValidSeedsParse) {
  const fs::path corpus = fs::path(XENT_FUZZ_DIR) / "corpus";
  for (const char* f : {"tiny.toml", "sup-base.toml", "inline-tables.toml"})
    EXPECT_NO_THROW(load_config_text("", slurp(corpus / "config" / f), f, {})) << f;
  for (const char* f : {"f4-c.npy", "f8-fortran.npy", "i8-big-endian.npy", "v3-scalar.npy"})
    EXPECT_NO_THROW(parse_npy(slurp(corpus / "npy" / f), f)) << f;
  const std::string ck = slurp(corpus / "checkpoint" / "tiny.xck");
  const Checkpoint parsed = parse_checkpoint(std::vector<char>(ck.begin(), ck.end()), "tiny.xck");
  EXPECT_NO_THROW(check_checkpoint(parsed, fuzz::tiny_trainer().config(), "tiny.xck"));
}

TEST(FuzzRegression, NastyConfigsNameTheirProblem) {
  const auto config = [](const std::string& file) {
    return refusal("config", file, [&](const std::string& b) {
      const size_t nul = b.find('\0');
      std::vector<std::string> sets;
      if (nul != std::string::npos) sets.push_back(b.substr(nul + 1));
      load_config_text("", std::string_view(b).substr(0, nul), file, sets);
    });
  };
  EXPECT_REFUSED(config("nan-kappa.toml"), "dgp.kappa: must be > 0");
  EXPECT_REFUSED(config("inf-adam-eps.toml"), "train.adam_eps: must be > 0");
  EXPECT_REFUSED(config("inf-bn-eps.toml"), "model.bn_eps: must be > 0");
  EXPECT_REFUSED(config("negative-width.toml"), "model.hidden: width 1 is -1");
  EXPECT_REFUSED(config("int32-overflow.toml"), "train.batch: value 4294967298 is out of range");
  EXPECT_REFUSED(config("huge-int.toml"), "huge-int.toml:2: ");
  EXPECT_REFUSED(config("deep-arrays.toml"), "exceeded maximum nested value depth");
  EXPECT_REFUSED(config("deep-inline-tables.toml"), "exceeded maximum nested value depth");
  EXPECT_REFUSED(config("deep-tables.toml"), "unknown key 'a'");
  EXPECT_REFUSED(config("empty-unknown-table.toml"), "unknown key 'dgp.nonsense'");
  EXPECT_REFUSED(config("newline-in-key.toml"), "unknown key 'dgp.a\\nb'");
  EXPECT_REFUSED(config("set-with-newline.toml"), "unknown value 'vmf\\n'");
  // Crashes the fuzzer found in toml++ (see non_ascii_replaced in host/io/toml_values.cpp).
  EXPECT_REFUSED(config("toml-unreachable-after-value.toml"), "expected digit");
  EXPECT_REFUSED(config("toml-unreachable-at-start.toml"), ":1: ");
  EXPECT_REFUSED(config("toml-unreachable-in-string.toml"), "unknown key 's'");
  EXPECT_REFUSED(config("non-ascii-comment-and-value.toml"), "unknown value '\xEF\xBF\xBDvmf'");
}

TEST(FuzzRegression, NastyNpyFilesNameTheirProblem) {
  const auto npy = [](const std::string& file) {
    return refusal("npy", file, [&](const std::string& b) { parse_npy(b, file); });
  };
  EXPECT_REFUSED(npy("truncated-header.npy"), "truncated: header length says 118 bytes");
  EXPECT_REFUSED(npy("header-length-past-end.npy"), "header length says 65535 bytes");
  EXPECT_REFUSED(npy("data-truncated.npy"), "but only 19 bytes follow the header");
  EXPECT_REFUSED(npy("huge-shape.npy"), "overflows the element count");
  EXPECT_REFUSED(npy("huge-data.npy"), "truncated: header says 1000000x1000000");
  EXPECT_REFUSED(npy("negative-dim.npy"), "negative dimension (-2)");
  EXPECT_REFUSED(npy("deep-nesting.npy"), "nested deeper than 16 levels");
  EXPECT_REFUSED(npy("newline-in-key.npy"), "unexpected key 'a\\nb'");
  EXPECT_REFUSED(npy("newline-in-descr.npy"), "unsupported dtype '<f\\n4'");
  EXPECT_REFUSED(npy("unterminated-string.npy"), "malformed header");
}

TEST(FuzzRegression, NastyCheckpointsNameTheirProblem) {
  const auto ck = [](const std::string& file) {
    return refusal("checkpoint", file, [&](const std::string& b) {
      parse_checkpoint(std::vector<char>(b.begin(), b.end()), file);
    });
  };
  EXPECT_REFUSED(ck("truncated-header.xck"), "truncated (30 bytes");
  EXPECT_REFUSED(ck("huge-replica-count.xck"), "corrupted header (replica count 4294967295");
  EXPECT_REFUSED(ck("bad-checksum.xck"), "checksum mismatch");
  EXPECT_REFUSED(ck("huge-tensor-count.xck"), "tensor count 4294967295");
  EXPECT_REFUSED(ck("huge-tensor-shape.xck"), "tensor 'enc.0.weight' has a bad shape");
  EXPECT_REFUSED(ck("negative-tensor-dim.xck"), "tensor 'enc.0.weight' has a bad shape");
  EXPECT_REFUSED(ck("control-char-name.xck"), "tensor name with byte 0xa");
  // Well formed, but not what the run that reads it wrote.
  const std::string renamed =
      slurp(fs::path(XENT_FUZZ_DIR) / "regressions/checkpoint/renamed-tensor.xck");
  const Checkpoint parsed =
      parse_checkpoint(std::vector<char>(renamed.begin(), renamed.end()), "renamed-tensor.xck");
  try {
    restore_checkpoint(fuzz::tiny_trainer(), parsed, "renamed-tensor.xck");
    ADD_FAILURE() << "restored a checkpoint that lacks a tensor";
  } catch (const InputError& e) {
    EXPECT_REFUSED(std::string(e.what()), "missing tensor 'enc.0.bias'");
  }
}

// Inputs too large to commit or for the fuzzers' 4 KB inputs to reach: each overflowed the stack
// of a plain build before its reader bounded it.
TEST(FuzzRegression, DeepNestingIsRefusedBeforeItOverflowsTheStack) {
  const std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + std::string(65000, '[') + "}";
  std::string npy = std::string("\x93NUMPY\x02\x00", 8);
  const auto len = static_cast<uint32_t>(dict.size() + 1);
  for (int b = 0; b < 4; ++b) npy += static_cast<char>((len >> (8 * b)) & 0xff);
  npy += dict + "\n";
  try {
    parse_npy(npy, "deep.npy");
    ADD_FAILURE() << "parsed a header nested 65000 deep";
  } catch (const InputError& e) {
    EXPECT_REFUSED(std::string(e.what()), "nested deeper than 16 levels");
  }

  std::string key = "a";
  for (int i = 0; i < 999999; ++i) key += ".a";
  try {
    load_config_text("", key + " = 1\n", "deep.toml", {});
    ADD_FAILURE() << "parsed a key nested a million deep";
  } catch (const InputError& e) {
    EXPECT_REFUSED(std::string(e.what()), "deep.toml: larger than 16 KiB");
  }
  try {
    load_config_text("", "", "", {"model.hidden={" + key + " = 1}"});
    ADD_FAILURE() << "parsed a --set value nested a million deep";
  } catch (const InputError& e) {
    EXPECT_REFUSED(std::string(e.what()), "model.hidden: the value is longer than 16 KiB");
  }
}

// The path readers in front of the from-memory ones: a directory opens as a stream on Linux,
// and the checkpoint reader took its "size" (2^63 - 1 bytes) for an allocation.
TEST(FuzzRegression, PathReadersRefuseDirectories) {
  const std::string dir = fs::temp_directory_path().string();
  const auto message = [](auto read) -> std::string {
    try {
      read();
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_REFUSED(message([&] { read_checkpoint(dir); }), "cannot open checkpoint (a directory)");
  EXPECT_REFUSED(message([&] { load_config("", dir, {}); }), "cannot open config file");
  EXPECT_REFUSED(message([&] { read_npy(dir); }), "Is a directory");
}

}  // namespace
}  // namespace xent
