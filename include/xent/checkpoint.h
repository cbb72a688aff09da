// Checkpoints: a trainer's full state in one checksummed binary file (docs/checkpoint.md), so
// that a resumed run continues bit for bit where the checkpoint was taken.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "xent/backend.h"
#include "xent/layers.h"

namespace xent {

inline constexpr uint32_t kCheckpointVersion = 1;

// CRC-32 (IEEE 802.3, the polynomial of zlib and PNG); crc chains calls over pieces.
uint32_t crc32(const void* data, size_t bytes, uint32_t crc = 0);

// FNV-1a 64 of a string.
uint64_t fnv1a(const std::string& s);

struct CheckpointTensor {
  std::string name;
  std::vector<int64_t> shape;  // [K][size]
  std::vector<float> data;
};

struct Checkpoint {
  uint32_t version = kCheckpointVersion;
  uint64_t shape_hash = 0;
  uint64_t config_hash = 0;
  int64_t step = 0;
  std::vector<uint64_t> seeds;  // one per replica
  std::vector<CheckpointTensor> tensors;
};

// What a checkpoint's header records besides its tensors: hashes of what fixes the tensors'
// shapes and of the config, the step, one seed per replica.
struct StateHeader {
  uint64_t shape_hash = 0, config_hash = 0;
  int64_t step = 0;
  std::vector<uint64_t> seeds;
};
// Writes backend state tensors (each [K][size], K = seeds.size()) to path atomically, in the
// format below. The one writer of every checkpoint xent makes.
void write_state_checkpoint(const std::string& path, Backend& b, const StateHeader& h,
                            const std::vector<StateTensor>& state);
// Loads ck's tensors into `state`, matched by name; every tensor must be present with the
// shape [K][size] and none may be left over. Checks everything before it loads anything.
void restore_state(Backend& b, const Checkpoint& ck, const std::vector<StateTensor>& state,
                   const std::string& path);

// Reads and verifies a checkpoint (size, magic, version, checksum, structure). Throws
// InputError "path: problem" on any defect; never reads out of bounds on a damaged file.
Checkpoint read_checkpoint(const std::string& path);
// The same on a file's bytes; path only names it in errors.
Checkpoint parse_checkpoint(const std::vector<char>& bytes, const std::string& path);

}  // namespace xent
