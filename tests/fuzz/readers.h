// One input through each reader of untrusted bytes, as the fuzz targets (tests/fuzz/*_fuzz.cpp)
// and the regression test over their corpora (tests/fuzz_regression_test.cpp) both run it.
//
// The readers' contract: bad input throws InputError with a short one-line message. Any other
// outcome escapes from these functions: a crash or sanitizer report, another exception type
// (libFuzzer reports it as a deadly signal, GoogleTest as a failure), or Broken, thrown when
// an input was accepted but the result breaks a promise the reader makes.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cpu/cpu_backend.h"
#include "xent/checkpoint.h"
#include "xent/config.h"
#include "xent/error.h"
#include "xent/npy.h"
#include "xent/trainer.h"
#include "xent/trainer_run.h"

namespace xent::fuzz {

struct Broken : std::logic_error {
  using std::logic_error::logic_error;
};

// Long enough for any message naming a file, a key and the problem; a message past it echoes
// input without bound.
inline constexpr size_t kMaxMessage = 1024;

inline void check_message(const InputError& e) {
  const std::string_view m = e.what();
  if (m.empty() || m.size() > kMaxMessage || m.find_first_of("\n\r") != std::string_view::npos)
    throw Broken("InputError message is not one short line (" + std::to_string(m.size()) +
                 " bytes): " + std::string(m.substr(0, kMaxMessage)));
}

// A TOML file, then optionally NUL and NUL-separated --set strings (TOML has no NUL, so the split
// is unambiguous). An accepted config must survive a round trip through to_toml.
inline void config_input(std::string_view in) {
  const size_t nul = in.find('\0');
  std::vector<std::string> sets;
  for (size_t pos = nul; pos != std::string_view::npos;) {
    const size_t next = in.find('\0', pos + 1);
    sets.emplace_back(in.substr(pos + 1, next == std::string_view::npos ? next : next - pos - 1));
    pos = next;
  }
  Config c;
  try {
    c = load_config_text("", in.substr(0, nul), "fuzz.toml", sets);
  } catch (const InputError& e) {
    check_message(e);
    return;
  }
  const std::string toml = to_toml(c);
  try {
    if (to_toml(load_config_text("", toml, "resolved.toml", {})) != toml)
      throw Broken("to_toml does not read back to the same config:\n" + toml);
  } catch (const InputError& e) {
    throw Broken(std::string("to_toml wrote a config that does not load: ") + e.what());
  }
}

inline void npy_input(std::string_view in) {
  NpyArray a;
  try {
    a = parse_npy(in, "fuzz.npy");
  } catch (const InputError& e) {
    check_message(e);
    return;
  }
  uint64_t count = 1;
  for (const int64_t d : a.shape) {
    if (d < 0) throw Broken("parse_npy returned a negative dimension");
    count *= static_cast<uint64_t>(d);
  }
  if (count != a.data.size()) throw Broken("parse_npy returned data that does not fill its shape");
}

// The config of the small run that wrote tests/fuzz/corpus/checkpoint/tiny.xck (make_corpus.py
// passes the same preset and keys), so that a checkpoint can get past the config checks into a
// restore.
inline const char* const kTinyRunPreset = "default";
inline const std::vector<std::string>& tiny_run_sets() {
  static const std::vector<std::string> sets = {
      "dgp.d=2",          "dgp.clusters=4",       "dgp.mixing_cond_draws=200",
      "model.hidden=[8]", "train.population=2",   "train.batch=8",
      "train.steps=2",    "train.eval_samples=64"};
  return sets;
}

inline Trainer& tiny_trainer() {
  static CpuBackend cpu;
  static Trainer t(cpu, load_config(kTinyRunPreset, "", tiny_run_sets()));
  return t;
}

inline void checkpoint_bytes(const std::vector<char>& bytes) {
  Checkpoint ck;
  try {
    ck = parse_checkpoint(bytes, "fuzz.xck");
  } catch (const InputError& e) {
    check_message(e);
    return;
  }
  for (const CheckpointTensor& t : ck.tensors) {
    uint64_t count = 1;
    for (const int64_t d : t.shape) count *= static_cast<uint64_t>(d);
    if (count != t.data.size()) throw Broken("tensor '" + t.name + "' does not fill its shape");
  }
  // A restore checks everything before it loads anything, so the one trainer serves every input.
  try {
    restore_checkpoint(tiny_trainer(), ck, "fuzz.xck");
  } catch (const InputError& e) {
    check_message(e);
  }
}

// Nearly every mutation fails the checksum, the first check after the size: the input is read
// a second time with the payload length and the checksum that its bytes imply (the layout of
// docs/checkpoint.md), so that the tensor table behind them is fuzzed too.
inline void checkpoint_input(std::string_view in) {
  std::vector<char> bytes(in.begin(), in.end());
  checkpoint_bytes(bytes);
  constexpr size_t kHeader = 48, kReplicasAt = 12, kPayloadAt = 40, kCrc = 4;
  if (bytes.size() < kHeader + kCrc) return;
  uint32_t K = 0;
  std::memcpy(&K, bytes.data() + kReplicasAt, sizeof K);
  const uint64_t fixed = kHeader + uint64_t{8} * K + kCrc;
  if (fixed > bytes.size()) return;
  const uint64_t payload = bytes.size() - fixed;
  std::memcpy(bytes.data() + kPayloadAt, &payload, sizeof payload);
  const uint32_t crc = crc32(bytes.data(), bytes.size() - kCrc);
  std::memcpy(bytes.data() + bytes.size() - kCrc, &crc, sizeof crc);
  if (std::string_view(bytes.data(), bytes.size()) != in) checkpoint_bytes(bytes);
}

}  // namespace xent::fuzz
