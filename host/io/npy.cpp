// NumPy .npy reader and writer (format spec: numpy.lib.format, versions 1.0, 2.0 and 3.0).
#include "xent/npy.h"

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

#include "xent/error.h"

namespace xent {
namespace {

static_assert(std::endian::native == std::endian::little,
              "npy.cpp converts '<' data with memcpy and swaps only '>' data");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy itself refuses headers over 10000 bytes unless told otherwise; a few times that leaves
// room for long shapes while a corrupt length field still fails before a large allocation.
constexpr uint32_t kMaxHeaderLen = 65536;
// NPY_MAXDIMS is 64 in numpy 2 (32 before).
constexpr size_t kMaxDims = 64;
// numpy's own headers nest two deep at most (a structured dtype's field shapes).
constexpr size_t kMaxNesting = 16;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

// Header text and strings quoted in a message: control and non-ASCII bytes become '?' so that
// the message stays on one line whatever the file holds, and a long run of them is cut short.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      out += '?';
    } else {
      out += c;
    }
    if (out.size() > 200) return out + "...";
  }
  return out;
}

std::string shape_text(const std::vector<int64_t>& shape, const char* sep) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += sep;
    s += std::to_string(shape[i]);
  }
  return s;
}

// The header is a Python dict literal written by numpy's repr; this is a small parser for the
// subset numpy emits (and hand-written headers plausibly use): strings with either quote,
// True/False/None, integers (Python 2 wrote 3L), and tuples or lists of those.
struct PyValue {
  enum class Kind { kString, kBool, kNone, kInt, kSeq } kind = Kind::kNone;
  std::string str;
  bool boolean = false;
  int64_t integer = 0;
  bool int_overflow = false;
  std::vector<PyValue> items;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string_view text) : path_(path), text_(text) {}

  std::vector<std::pair<std::string, PyValue>> parse_dict() {
    skip_space();
    expect('{');
    std::vector<std::pair<std::string, PyValue>> entries;
    skip_space();
    while (peek() != '}') {
      PyValue key = parse_value();
      if (key.kind != PyValue::Kind::kString) error("dictionary keys must be strings");
      skip_space();
      expect(':');
      PyValue value = parse_value();
      entries.emplace_back(key.str, std::move(value));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        error("expected ',' or '}'");
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != text_.size()) error("unexpected text after the dictionary");
    return entries;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    // The padding numpy appends says nothing about the problem.
    std::string_view shown = text_;
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.remove_suffix(1);
    fail(path_, "malformed header: " + what + " at offset " + std::to_string(pos_) + " in \"" +
                    printable(shown) + "\"");
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++pos_;
  }

  bool consume_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    const size_t end = pos_ + word.size();
    if (end < text_.size() &&
        (std::isalnum(static_cast<unsigned char>(text_[end])) != 0 || text_[end] == '_')) {
      return false;
    }
    pos_ = end;
    return true;
  }

  // depth counts the enclosing tuples and lists: each is a stack frame, and a header of
  // nothing but '[' would otherwise recurse 64K deep.
  PyValue parse_value(size_t depth = 0) {
    skip_space();
    PyValue v;
    const char c = peek();
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::kString;
      ++pos_;
      while (peek() != c) {
        if (pos_ >= text_.size()) error("unterminated string");
        if (peek() == '\\') error("escape sequences in strings are not supported");
        v.str += text_[pos_++];
      }
      ++pos_;
    } else if (c == '(' || c == '[') {
      v.kind = PyValue::Kind::kSeq;
      if (depth == kMaxNesting) {
        error("tuples and lists nested deeper than " + std::to_string(kMaxNesting) + " levels");
      }
      const char close = c == '(' ? ')' : ']';
      ++pos_;
      skip_space();
      while (peek() != close) {
        v.items.push_back(parse_value(depth + 1));
        skip_space();
        if (peek() == ',') {
          ++pos_;
          skip_space();
        } else if (peek() != close) {
          error(std::string("expected ',' or '") + close + "'");
        }
      }
      ++pos_;
    } else if (consume_word("True")) {
      v.kind = PyValue::Kind::kBool;
      v.boolean = true;
    } else if (consume_word("False")) {
      v.kind = PyValue::Kind::kBool;
    } else if (consume_word("None")) {
      v.kind = PyValue::Kind::kNone;
    } else if (c == '-' || c == '+' || std::isdigit(static_cast<unsigned char>(c)) != 0) {
      v.kind = PyValue::Kind::kInt;
      bool negative = false;
      if (c == '-' || c == '+') {
        negative = c == '-';
        ++pos_;
      }
      if (std::isdigit(static_cast<unsigned char>(peek())) == 0) error("expected a digit");
      uint64_t magnitude = 0;
      while (std::isdigit(static_cast<unsigned char>(peek())) != 0) {
        const auto digit = static_cast<uint64_t>(text_[pos_++] - '0');
        if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
          v.int_overflow = true;
        } else {
          magnitude = magnitude * 10 + digit;
        }
      }
      if (peek() == 'L' || peek() == 'l') ++pos_;
      if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        v.int_overflow = true;
      }
      if (!v.int_overflow) {
        v.integer = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
      }
    } else {
      error("unexpected character");
    }
    return v;
  }

  const std::string& path_;
  std::string_view text_;
  size_t pos_ = 0;
};

enum class Elem { kF4, kF8, kI4, kI8 };

struct Dtype {
  Elem elem;
  bool swap;  // stored big endian
  size_t size;
  const char* name;
};

std::optional<Dtype> parse_descr(const std::string& descr) {
  std::string_view d = descr;
  bool swap = false;
  if (!d.empty() && (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|')) {
    // '|' means "byte order not applicable"; numpy reads '|f4' as native, and so do we.
    swap = d[0] == '>';
    d.remove_prefix(1);
  }
  if (d == "f4") return Dtype{Elem::kF4, swap, 4, "float32"};
  if (d == "f8") return Dtype{Elem::kF8, swap, 8, "float64"};
  if (d == "i4") return Dtype{Elem::kI4, swap, 4, "int32"};
  if (d == "i8") return Dtype{Elem::kI8, swap, 8, "int64"};
  return std::nullopt;
}

template <typename T>
double load(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap) {
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  }
  T v;
  std::memcpy(&v, b, sizeof(T));
  return static_cast<double>(v);
}

double load_elem(const unsigned char* p, const Dtype& dt) {
  switch (dt.elem) {
    case Elem::kF4:
      return load<float>(p, dt.swap);
    case Elem::kF8:
      return load<double>(p, dt.swap);
    case Elem::kI4:
      return load<int32_t>(p, dt.swap);
    case Elem::kI8:
      return load<int64_t>(p, dt.swap);
  }
  return 0;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

template <typename T>
void write_impl(const std::string& path, const T* data, const std::vector<int64_t>& shape,
                const char* descr) {
  if (shape.size() > kMaxDims) fail(path, "cannot write an array of more than 64 dimensions");
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) {
      fail(path,
           "cannot write a shape with a negative dimension (" + shape_text(shape, ", ") + ")");
    }
    if (d != 0 &&
        count > std::numeric_limits<uint64_t>::max() / sizeof(T) / static_cast<uint64_t>(d)) {
      fail(path, "cannot write: element count overflows");
    }
    count *= static_cast<uint64_t>(d);
  }
  if (count > 0 && data == nullptr) fail(path, "cannot write: no data for a non-empty array");

  std::string shape_str = "(" + shape_text(shape, ", ");
  if (shape.size() == 1) shape_str += ",";
  shape_str += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape_str + ", }";
  // numpy pads with spaces and a final newline so that the data starts 64-byte aligned, and
  // moves to version 2.0 only when the padded header outgrows 1.0's 16-bit length.
  const auto padded_len = [&](size_t prefix) {
    return (prefix + header.size() + 1 + 63) / 64 * 64 - prefix;
  };
  const bool v1 = padded_len(kMagicLen + 4) <= 65535;
  const size_t prefix = kMagicLen + 2 + (v1 ? 2 : 4);
  header.append(padded_len(prefix) - header.size() - 1, ' ');
  header += '\n';

  std::string head(kMagic, kMagicLen);
  head += static_cast<char>(v1 ? 1 : 2);
  head += '\0';
  const auto len = static_cast<uint32_t>(header.size());
  head += static_cast<char>(len & 0xff);
  head += static_cast<char>((len >> 8) & 0xff);
  if (!v1) {
    head += static_cast<char>((len >> 16) & 0xff);
    head += static_cast<char>((len >> 24) & 0xff);
  }
  head += header;

  // Writing beside the target and renaming means a reader never sees a half-written file and a
  // failed write leaves any previous file intact.
  const std::string tmp = path + ".tmp";
  File f(std::fopen(tmp.c_str(), "wb"));
  if (!f) fail(path, std::string("cannot write ") + tmp + ": " + std::strerror(errno));
  bool ok = std::fwrite(head.data(), 1, head.size(), f.get()) == head.size();
  if (ok && count > 0) ok = std::fwrite(data, sizeof(T), count, f.get()) == count;
  const int write_errno = errno;
  const bool closed = std::fclose(f.release()) == 0;
  if (!ok || !closed) {
    const int e = ok ? errno : write_errno;
    std::remove(tmp.c_str());
    fail(path, std::string("cannot write ") + tmp + ": " + std::strerror(e));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    fail(path, "cannot rename " + tmp + " into place: " + ec.message());
  }
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (ec) fail(path, "cannot open: " + ec.message());
  if (fs::is_directory(st)) fail(path, "cannot open: Is a directory");
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::string bytes;
  if (fs::is_regular_file(st)) {
    const auto size = fs::file_size(path, ec);
    if (!ec && size <= std::numeric_limits<size_t>::max()) bytes.reserve(size);
  }
  std::vector<char> chunk(size_t{1} << 16);
  for (;;) {
    const size_t got = std::fread(chunk.data(), 1, chunk.size(), f.get());
    bytes.append(chunk.data(), got);
    // A device or pipe that never ends (/dev/zero) is refused by its first bytes instead of
    // being read until memory runs out.
    if (bytes.size() >= kMagicLen && std::memcmp(bytes.data(), kMagic, kMagicLen) != 0) break;
    if (got < chunk.size()) {
      if (std::ferror(f.get())) fail(path, std::string("read error: ") + std::strerror(errno));
      break;
    }
  }
  return parse_npy(bytes, path);
}

NpyArray parse_npy(std::string_view bytes, const std::string& path) {
  const size_t size = bytes.size();
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  if (size < kMagicLen || bytes.substr(0, kMagicLen) != std::string_view(kMagic, kMagicLen)) {
    fail(path, "not a .npy file (bad magic: expected \\x93NUMPY)");
  }
  if (size < kMagicLen + 2) fail(path, "truncated: file ends inside the format version");
  const int major = byte(kMagicLen);
  const int minor = byte(kMagicLen + 1);
  if (major < 1 || major > 3 || minor != 0) {
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  }
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (size < kMagicLen + 2 + len_bytes) fail(path, "truncated: file ends inside the header length");
  uint32_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i) {
    header_len |= static_cast<uint32_t>(byte(kMagicLen + 2 + i)) << (8 * i);
  }
  // The shortest header carrying the three keys is well over 40 bytes.
  if (header_len < 40) {
    fail(path, "header too short (" + std::to_string(header_len) + " bytes)");
  }
  if (header_len > kMaxHeaderLen) {
    fail(path, "header too long (" + std::to_string(header_len) + " bytes, limit " +
                   std::to_string(kMaxHeaderLen) + ")");
  }
  const size_t data_offset = kMagicLen + 2 + len_bytes + header_len;
  if (size < data_offset) {
    fail(path, "truncated: header length says " + std::to_string(header_len) +
                   " bytes but the file has " + std::to_string(size) + " bytes in all");
  }
  const std::string_view header = bytes.substr(kMagicLen + 2 + len_bytes, header_len);
  // Version 1.0 and 2.0 headers are latin-1, 3.0 utf-8; the keys and values we accept are ASCII,
  // so both parse the same.

  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<std::vector<int64_t>> shape;
  for (auto& [key, value] : HeaderParser(path, header).parse_dict()) {
    if (key == "descr") {
      if (value.kind != PyValue::Kind::kString) {
        fail(path,
             "unsupported dtype: 'descr' is not a simple type string (structured arrays "
             "are not supported; expected float32, float64, int32 or int64)");
      }
      descr = value.str;
    } else if (key == "fortran_order") {
      if (value.kind != PyValue::Kind::kBool) {
        fail(path, "header 'fortran_order' is not True/False");
      }
      fortran = value.boolean;
    } else if (key == "shape") {
      if (value.kind != PyValue::Kind::kSeq) fail(path, "header 'shape' is not a tuple");
      std::vector<int64_t> dims;
      for (const PyValue& item : value.items) {
        if (item.kind != PyValue::Kind::kInt) fail(path, "header 'shape' has a non-integer entry");
        if (item.int_overflow) fail(path, "header 'shape' has an absurdly large dimension");
        if (item.integer < 0) {
          fail(path,
               "header 'shape' has a negative dimension (" + std::to_string(item.integer) + ")");
        }
        dims.push_back(item.integer);
      }
      if (dims.size() > kMaxDims) {
        fail(path, "header 'shape' has " + std::to_string(dims.size()) + " dimensions (limit 64)");
      }
      shape = std::move(dims);
    } else {
      fail(path, "unexpected key '" + printable(key) +
                     "' in header (expected descr, fortran_order, shape)");
    }
  }
  if (!descr) fail(path, "header has no 'descr' key");
  if (!fortran) fail(path, "header has no 'fortran_order' key");
  if (!shape) fail(path, "header has no 'shape' key");

  const std::optional<Dtype> dt = parse_descr(*descr);
  if (!dt) {
    fail(path, "unsupported dtype '" + printable(*descr) +
                   "' (expected float32, float64, int32 or int64)");
  }

  uint64_t count = 1;
  for (int64_t d : *shape) {
    const auto ud = static_cast<uint64_t>(d);
    if (ud != 0 && count > std::numeric_limits<uint64_t>::max() / dt->size / ud) {
      fail(path, "header 'shape' (" + shape_text(*shape, ", ") + ") overflows the element count");
    }
    count *= ud;
  }
  // The loop above kept count * size below 2^64.
  const uint64_t nbytes = count * dt->size;
  const std::string what = "header says " +
                           (shape->empty() ? std::string("a scalar") : shape_text(*shape, "x")) +
                           " " + dt->name + " (" + std::to_string(nbytes) + " bytes)";
  // Bytes past the data are ignored, as np.load does.
  if (size - data_offset < nbytes) {
    fail(path, "truncated: " + what + " but only " + std::to_string(size - data_offset) +
                   " bytes follow the header");
  }
  const auto* raw = reinterpret_cast<const unsigned char*>(bytes.data()) + data_offset;

  NpyArray out;
  out.shape = *shape;
  out.data.resize(static_cast<size_t>(count));
  const size_t ndim = shape->size();
  if (!*fortran || ndim < 2 || count == 0) {
    for (size_t i = 0; i < out.data.size(); ++i) out.data[i] = load_elem(&raw[i * dt->size], *dt);
    return out;
  }
  // Fortran order: walk the C-order output with an odometer and track the Fortran offset.
  std::vector<uint64_t> fstride(ndim);
  uint64_t s = 1;
  for (size_t k = 0; k < ndim; ++k) {
    fstride[k] = s;
    s *= static_cast<uint64_t>((*shape)[k]);
  }
  std::vector<int64_t> idx(ndim, 0);
  uint64_t src = 0;
  for (size_t i = 0; i < out.data.size(); ++i) {
    out.data[i] = load_elem(&raw[static_cast<size_t>(src) * dt->size], *dt);
    for (size_t k = ndim; k-- > 0;) {
      if (++idx[k] < (*shape)[k]) {
        src += fstride[k];
        break;
      }
      src -= fstride[k] * static_cast<uint64_t>(idx[k] - 1);
      idx[k] = 0;
    }
  }
  return out;
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_impl(path, data, shape, "<f4");
}

void write_npy(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape) {
  write_impl(path, data, shape, "<i4");
}

void write_npy(const std::string& path, const double* data, const std::vector<int64_t>& shape) {
  write_impl(path, data, shape, "<f8");
}

}  // namespace xent
