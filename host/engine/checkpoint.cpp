#include "xent/checkpoint.h"

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "io/files.h"
#include "xent/error.h"

namespace xent {

// The format is little-endian on disk and written with plain memcpy.
static_assert(std::endian::native == std::endian::little, "xent checkpoints assume little endian");

namespace {

constexpr char kMagic[8] = {'X', 'E', 'N', 'T', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 48;  // up to the seeds
constexpr uint32_t kMaxNameBytes = 4096;
constexpr uint32_t kMaxDims = 8;

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int j = 0; j < 8; ++j) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// Appends to a byte buffer and keeps the running CRC of everything appended.
class Sink {
 public:
  explicit Sink(AtomicFile& f) : f_(f) {}
  template <class T>
  void put(const T& v) {
    bytes(&v, sizeof v);
  }
  void bytes(const void* p, size_t n) {
    crc_ = crc32(p, n, crc_);
    f_.write(p, n);
  }
  uint32_t crc() const { return crc_; }

 private:
  AtomicFile& f_;
  uint32_t crc_ = 0;
};

// Bounds-checked reads from the verified file image; any overrun is a malformed table.
class Source {
 public:
  Source(const std::vector<char>& b, size_t pos, size_t end, const std::string& path)
      : b_(b), pos_(pos), end_(end), path_(path) {}
  template <class T>
  T get(const char* what) {
    T v;
    std::memcpy(&v, need(sizeof v, what), sizeof v);
    return v;
  }
  const char* need(size_t n, const char* what) {
    if (n > end_ - pos_) malformed(std::string(what) + " runs past the end of the tensor table");
    const char* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  size_t left() const { return end_ - pos_; }
  [[noreturn]] void malformed(const std::string& what) const {
    throw InputError(path_ + ": malformed checkpoint (" + what + ")");
  }

 private:
  const std::vector<char>& b_;
  size_t pos_, end_;
  const std::string& path_;
};

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}

uint32_t crc32(const void* data, size_t bytes, uint32_t crc) {
  const auto& t = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  crc = ~crc;
  for (size_t i = 0; i < bytes; ++i) crc = t[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void write_state_checkpoint(const std::string& path, Backend& b, const StateHeader& h,
                            const std::vector<StateTensor>& state) {
  const auto K = static_cast<int64_t>(h.seeds.size());
  uint64_t payload = sizeof(uint32_t);
  for (const auto& s : state)
    payload += sizeof(uint32_t) + s.name.size() + sizeof(uint32_t) + 2 * sizeof(int64_t) +
               static_cast<uint64_t>(s.size) * static_cast<uint64_t>(K) * sizeof(float);

  AtomicFile f(path);
  Sink out(f);
  out.bytes(kMagic, sizeof kMagic);
  out.put(kCheckpointVersion);
  out.put(static_cast<uint32_t>(K));
  out.put(h.shape_hash);
  out.put(h.config_hash);
  out.put(h.step);
  out.put(payload);
  for (const uint64_t seed : h.seeds) out.put(seed);
  out.put(static_cast<uint32_t>(state.size()));
  std::vector<float> host;
  for (const auto& s : state) {
    out.put(static_cast<uint32_t>(s.name.size()));
    out.bytes(s.name.data(), s.name.size());
    out.put(uint32_t{2});
    out.put(K);
    out.put(s.size);
    host.resize(static_cast<size_t>(s.size * K));
    b.download(host.data(), s.data, host.size() * sizeof(float));
    out.bytes(host.data(), host.size() * sizeof(float));
  }
  const uint32_t crc = out.crc();
  f.write(&crc, sizeof crc);
  f.commit();
}

Checkpoint read_checkpoint(const std::string& path) {
  namespace fs = std::filesystem;
  // A directory opens, and seeking to its end reports 2^63 - 1 bytes (ext4): that size is not
  // asked of the stream, and a directory is refused before it is read.
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!ec && fs::is_directory(st))
    throw InputError(path + ": cannot open checkpoint (a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open checkpoint (" + std::strerror(errno) + ")");
  // A regular file is read in one call (the byte past its size sees the end); anything else,
  // a pipe say, in growing pieces.
  std::vector<char> b(size_t{1} << 16);
  if (fs::is_regular_file(st)) {
    const auto size = fs::file_size(path, ec);
    if (!ec && size < b.max_size()) b.resize(static_cast<size_t>(size) + 1);
  }
  size_t have = 0;
  while (in) {
    if (have == b.size()) b.resize(2 * b.size());
    in.read(b.data() + have, static_cast<std::streamsize>(b.size() - have));
    have += static_cast<size_t>(in.gcount());
  }
  if (in.bad()) throw InputError(path + ": read error");
  b.resize(have);
  return parse_checkpoint(b, path);
}

Checkpoint parse_checkpoint(const std::vector<char>& b, const std::string& path) {
  auto fail = [&](const std::string& what) -> InputError { return InputError(path + ": " + what); };
  const size_t n = b.size();
  auto at = [&](size_t off, auto v) {
    std::memcpy(&v, b.data() + off, sizeof v);
    return v;
  };

  if (n < sizeof kMagic + sizeof(uint32_t))
    throw fail("truncated (" + std::to_string(n) + " bytes, shorter than a checkpoint header)");
  if (std::memcmp(b.data(), kMagic, sizeof kMagic) != 0)
    throw fail("not an xent checkpoint (bad magic)");
  Checkpoint ck;
  ck.version = at(8, uint32_t{});
  if (ck.version != kCheckpointVersion)
    throw fail("unsupported checkpoint version " + std::to_string(ck.version) +
               " (this xent reads version " + std::to_string(kCheckpointVersion) + ")");
  if (n < kHeaderBytes)
    throw fail("truncated (" + std::to_string(n) + " bytes, shorter than a checkpoint header)");
  const uint32_t K = at(12, uint32_t{});
  ck.shape_hash = at(16, uint64_t{});
  ck.config_hash = at(24, uint64_t{});
  ck.step = at(32, int64_t{});
  const uint64_t payload = at(40, uint64_t{});
  // Sizes from a damaged header must not overflow the expected-size arithmetic.
  const uint64_t limit = uint64_t{1} << 60;
  if (K > (1u << 20) || payload > limit)
    throw fail("corrupted header (replica count " + std::to_string(K) + ", payload " +
               std::to_string(payload) + " bytes)");
  const uint64_t expected = kHeaderBytes + uint64_t{8} * K + payload + sizeof(uint32_t);
  if (n < expected)
    throw fail("truncated (" + std::to_string(n) + " bytes, expected " + std::to_string(expected) +
               ")");
  if (n > expected)
    throw fail(std::to_string(n - expected) + " unexpected bytes after the checksum");
  const uint32_t stored = at(n - 4, uint32_t{});
  const uint32_t computed = crc32(b.data(), n - 4);
  if (stored != computed)
    throw fail("checksum mismatch (stored " + hex(stored) + ", computed " + hex(computed) +
               "): the file is corrupted");

  for (uint32_t k = 0; k < K; ++k) ck.seeds.push_back(at(kHeaderBytes + 8 * k, uint64_t{}));
  // The checksum passed, so what follows is what some writer produced; still check every
  // count, in case that writer was not this one.
  Source src(b, kHeaderBytes + 8 * size_t{K}, n - 4, path);
  const uint32_t count = src.get<uint32_t>("tensor count");
  if (count > src.left() / 9) src.malformed("tensor count " + std::to_string(count));
  for (uint32_t i = 0; i < count; ++i) {
    CheckpointTensor t;
    const uint32_t len = src.get<uint32_t>("tensor name length");
    if (len == 0 || len > kMaxNameBytes) src.malformed("tensor name length " + std::to_string(len));
    t.name.assign(src.need(len, "tensor name"), len);
    // Names reach error messages (on resume, a missing or unexpected tensor is named), and a
    // writer only ever wrote identifiers: anything unprintable is damage, not a name.
    for (const char ch : t.name)
      if (ch < 0x20 || ch > 0x7e)
        src.malformed("tensor name with byte " + hex(static_cast<unsigned char>(ch)));
    const uint32_t ndim = src.get<uint32_t>("tensor rank");
    if (ndim > kMaxDims) src.malformed("tensor '" + t.name + "' has rank " + std::to_string(ndim));
    uint64_t elems = 1;
    for (uint32_t j = 0; j < ndim; ++j) {
      const int64_t dim = src.get<int64_t>("tensor shape");
      if (dim < 0 || (dim > 0 && elems > src.left() / sizeof(float) / static_cast<uint64_t>(dim)))
        src.malformed("tensor '" + t.name + "' has a bad shape");
      t.shape.push_back(dim);
      elems *= static_cast<uint64_t>(dim);
    }
    t.data.resize(elems);
    const void* bytes = src.need(elems * sizeof(float), "tensor data");
    // memcpy with a null pointer is undefined even for zero bytes (UBSan reports it).
    if (elems > 0) std::memcpy(t.data.data(), bytes, elems * sizeof(float));
    ck.tensors.push_back(std::move(t));
  }
  if (src.left() != 0) src.malformed(std::to_string(src.left()) + " bytes after the last tensor");
  return ck;
}

void restore_state(Backend& b, const Checkpoint& ck, const std::vector<StateTensor>& state,
                   const std::string& path) {
  const auto K = static_cast<int64_t>(ck.seeds.size());
  std::map<std::string, const CheckpointTensor*> by_name;
  for (const auto& ct : ck.tensors)
    if (!by_name.emplace(ct.name, &ct).second)
      throw InputError(path + ": tensor '" + ct.name + "' appears twice");
  // Everything is checked before anything is loaded: a refused checkpoint leaves the state as
  // it was.
  std::vector<const CheckpointTensor*> source;
  for (const auto& s : state) {
    const auto it = by_name.find(s.name);
    if (it == by_name.end()) throw InputError(path + ": missing tensor '" + s.name + "'");
    if (it->second->shape != std::vector<int64_t>{K, s.size})
      throw InputError(path + ": tensor '" + s.name + "' has the wrong shape");
    source.push_back(it->second);
    by_name.erase(it);
  }
  if (!by_name.empty())
    throw InputError(path + ": unexpected tensor '" + by_name.begin()->first + "'");
  for (size_t i = 0; i < state.size(); ++i)
    b.upload(state[i].data, source[i]->data.data(), source[i]->data.size() * sizeof(float));
}

}  // namespace xent
