// read_npy / write_npy: round trips, hand-written headers of every supported flavour, and one
// InputError (naming the file) per malformed case.
#include "xent/npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "xent/error.h"

namespace xent {
namespace {

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("xent_npy_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write_bytes(const std::string& name, const std::string& bytes) const {
    const std::string p = path(name);
    std::ofstream out(p, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return p;
  }

  fs::path dir_;
};

template <typename T>
std::string raw(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
  return s;
}

template <typename T>
std::string raw_big_endian(const std::vector<T>& v) {
  std::string s = raw(v);
  for (size_t i = 0; i < v.size(); ++i) {
    std::reverse(s.begin() + static_cast<std::ptrdiff_t>(i * sizeof(T)),
                 s.begin() + static_cast<std::ptrdiff_t>((i + 1) * sizeof(T)));
  }
  return s;
}

// A .npy file as numpy lays it out: magic, version, little-endian header length (2 bytes for
// 1.0, 4 for 2.0 and 3.0), the dict padded with spaces to a 64-byte boundary, then the data.
std::string npy_file(int major, const std::string& dict, const std::string& payload) {
  const size_t prefix = 6 + 2 + (major == 1 ? 2 : 4);
  std::string header = dict;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string s = "\x93NUMPY";
  s += static_cast<char>(major);
  s += '\0';
  const auto len = static_cast<uint32_t>(header.size());
  for (size_t b = 0; b < (major == 1 ? 2u : 4u); ++b)
    s += static_cast<char>((len >> (8 * b)) & 0xff);
  return s + header + payload;
}

// Asserts that reading `file` throws InputError whose single-line message names the file and
// contains `fragment`.
void expect_read_error(const std::string& file, const std::string& fragment) {
  try {
    read_npy(file);
    ADD_FAILURE() << "no error reading " << file << " (expected '" << fragment << "')";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(file + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST_F(NpyTest, RoundTripFloat32) {
  const std::vector<float> v = {0.0f,  -1.5f, 3.25f,       1e-30f, -7e20f, 0.1f,
                                42.0f, -0.0f, 1.0f / 3.0f, 8.0f,   9.5f,   -11.0f};
  const std::string p = path("a.npy");
  write_npy(p, v.data(), {3, 4});
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
  ASSERT_EQ(a.data.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(a.data[i], static_cast<double>(v[i])) << i;
}

TEST_F(NpyTest, RoundTripInt32) {
  const std::vector<int32_t> v = {
      0, 1, -1, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 123456};
  const std::string p = path("i.npy");
  write_npy(p, v.data(), {6});
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{6}));
  ASSERT_EQ(a.data.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(a.data[i], static_cast<double>(v[i])) << i;
}

TEST_F(NpyTest, RoundTripScalarAndEmpty) {
  const float x = 2.5f;
  write_npy(path("s.npy"), &x, {});
  NpyArray a = read_npy(path("s.npy"));
  EXPECT_TRUE(a.shape.empty());
  ASSERT_EQ(a.data.size(), 1u);
  EXPECT_EQ(a.data[0], 2.5);

  write_npy(path("e.npy"), static_cast<const float*>(nullptr), {0, 3});
  a = read_npy(path("e.npy"));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(a.data.empty());
}

TEST_F(NpyTest, WrittenHeaderIsWhatNumpyWrites) {
  const std::vector<int32_t> v = {1, 2, 3, 4, 5};
  write_npy(path("h.npy"), v.data(), {5});
  std::ifstream in(path("h.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t len = static_cast<unsigned char>(bytes[8]) |
                     (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  EXPECT_EQ((10 + len) % 64, 0u);
  ASSERT_EQ(bytes.size(), 10 + len + 5 * sizeof(int32_t));
  const std::string header = bytes.substr(10, len);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_NE(header.find("'descr': '<i4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (5,)"), std::string::npos) << header;
  EXPECT_EQ(bytes.substr(10 + len), raw(v));
}

TEST_F(NpyTest, OverwritesAnExistingFile) {
  const std::vector<float> a = {1, 2, 3}, b = {4, 5};
  write_npy(path("o.npy"), a.data(), {3});
  write_npy(path("o.npy"), b.data(), {2});
  EXPECT_EQ(read_npy(path("o.npy")).data, (std::vector<double>{4, 5}));
}

TEST_F(NpyTest, ReadsFloat64) {
  const std::vector<double> v = {1.0, -2.0, 0.1, 1e300, -1e-300, 3.141592653589793};
  const std::string p = write_bytes(
      "d.npy", npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", raw(v)));
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, v);
}

TEST_F(NpyTest, ReadsInt64AndOtherByteOrderMarks) {
  const std::vector<int64_t> i8 = {-5, 0, int64_t{1} << 40};
  NpyArray a = read_npy(write_bytes(
      "i8.npy", npy_file(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", raw(i8))));
  EXPECT_EQ(a.data, (std::vector<double>{-5.0, 0.0, 1099511627776.0}));

  const std::vector<float> f4 = {1.5f, -2.0f};
  a = read_npy(write_bytes(
      "pipe.npy",
      npy_file(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", raw(f4))));
  EXPECT_EQ(a.data, (std::vector<double>{1.5, -2.0}));

  const std::vector<int32_t> i4 = {7, -8};
  a = read_npy(write_bytes(
      "eq.npy", npy_file(1, "{'descr': '=i4', 'fortran_order': False, 'shape': (2,), }", raw(i4))));
  EXPECT_EQ(a.data, (std::vector<double>{7.0, -8.0}));

  const std::vector<double> f8 = {0.25, -1e10};
  a = read_npy(write_bytes("be.npy", npy_file(1,
                                              "{'descr': '>f8', 'fortran_order': False, "
                                              "'shape': (2,), }",
                                              raw_big_endian(f8))));
  EXPECT_EQ(a.data, f8);

  const std::vector<int32_t> be4 = {1, -2, 70000};
  a = read_npy(write_bytes("be4.npy",
                           npy_file(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }",
                                    raw_big_endian(be4))));
  EXPECT_EQ(a.data, (std::vector<double>{1.0, -2.0, 70000.0}));
}

TEST_F(NpyTest, ReadsFortranOrder) {
  // A 2 x 3 matrix [[0, 1, 2], [10, 11, 12]] stored column by column.
  const std::vector<double> cols = {0, 10, 1, 11, 2, 12};
  NpyArray a = read_npy(write_bytes(
      "f.npy",
      npy_file(1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", raw(cols))));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, (std::vector<double>{0, 1, 2, 10, 11, 12}));

  // 3-D: element (i, j, k) = 100 i + 10 j + k, stored with i fastest.
  const int64_t d0 = 2, d1 = 3, d2 = 4;
  std::vector<float> f;
  for (int64_t k = 0; k < d2; ++k) {
    for (int64_t j = 0; j < d1; ++j) {
      for (int64_t i = 0; i < d0; ++i) f.push_back(static_cast<float>(100 * i + 10 * j + k));
    }
  }
  a = read_npy(write_bytes(
      "f3.npy",
      npy_file(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", raw(f))));
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  ASSERT_EQ(a.data.size(), 24u);
  size_t idx = 0;
  for (int64_t i = 0; i < d0; ++i) {
    for (int64_t j = 0; j < d1; ++j) {
      for (int64_t k = 0; k < d2; ++k) {
        EXPECT_EQ(a.data[idx++], static_cast<double>(100 * i + 10 * j + k)) << i << j << k;
      }
    }
  }
}

TEST_F(NpyTest, ReadsVersion2And3Headers) {
  const std::vector<float> v = {1, 2, 3, 4};
  for (int major : {2, 3}) {
    const NpyArray a = read_npy(write_bytes(
        "v" + std::to_string(major) + ".npy",
        npy_file(major, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", raw(v))));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 2})) << major;
    EXPECT_EQ(a.data, (std::vector<double>{1, 2, 3, 4})) << major;
  }
}

TEST_F(NpyTest, ParsesHeaderVariants) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  // Key order, double quotes, no trailing comma, Python 2 long suffixes, list instead of tuple.
  for (const char* dict : {"{'shape': (3, 2), 'fortran_order': False, 'descr': '<f4'}",
                           "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3,2)}",
                           "{'descr':'<f4','fortran_order':False,'shape':(3L, 2L),}",
                           "{ 'descr' : '<f4' , 'fortran_order' : False , 'shape' : [3, 2] }"}) {
    const NpyArray a = read_npy(write_bytes("hv.npy", npy_file(1, dict, raw(v))));
    EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 2})) << dict;
    EXPECT_EQ(a.data, (std::vector<double>{1, 2, 3, 4, 5, 6})) << dict;
  }
}

TEST_F(NpyTest, MissingFileAndDirectory) {
  expect_read_error(path("nope.npy"), "cannot open: No such file or directory");
  expect_read_error(dir_.string(), "cannot open: Is a directory");
}

TEST_F(NpyTest, BadMagicAndVersion) {
  expect_read_error(write_bytes("empty.npy", ""), "bad magic");
  expect_read_error(write_bytes("text.npy", "x,y\n1,2\n"), "bad magic");
  std::string f = npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "abcd");
  f[6] = 4;
  expect_read_error(write_bytes("v4.npy", f), "unsupported .npy format version 4.0");
  expect_read_error(write_bytes("short.npy", std::string("\x93NUMPY\x01", 7)), "truncated");
  expect_read_error(write_bytes("nolen.npy", std::string("\x93NUMPY\x01\x00\x10", 9)), "truncated");
}

TEST_F(NpyTest, HeaderLengthOutOfRange) {
  std::string f = std::string("\x93NUMPY\x02\x00", 8) + std::string("\xf0\xff\xff\x7f", 4);
  expect_read_error(write_bytes("long.npy", f + "{}"), "header too long");
  f = std::string("\x93NUMPY\x01\x00", 8) + std::string("\x05\x00", 2) + "{}   ";
  expect_read_error(write_bytes("tiny.npy", f), "header too short");
  f = std::string("\x93NUMPY\x01\x00", 8) + std::string("\x00\x10", 2) + "{'descr': '<f4'";
  expect_read_error(write_bytes("cut.npy", f), "truncated: header length says 4096 bytes");
}

TEST_F(NpyTest, UnsupportedDtypes) {
  const auto with_descr = [&](const std::string& name, const std::string& descr) {
    return write_bytes(
        name, npy_file(1, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }",
                       std::string(32, '\0')));
  };
  expect_read_error(with_descr("c8.npy", "'<c8'"),
                    "unsupported dtype '<c8' (expected float32, float64, int32 or int64)");
  expect_read_error(with_descr("f2.npy", "'<f2'"), "unsupported dtype '<f2'");
  expect_read_error(with_descr("u1.npy", "'|u1'"), "unsupported dtype '|u1'");
  expect_read_error(with_descr("obj.npy", "'|O'"), "unsupported dtype '|O'");
  expect_read_error(with_descr("rec.npy", "[('a', '<f4'), ('b', '<f4')]"),
                    "structured arrays are not supported");
}

TEST_F(NpyTest, MalformedHeaderDicts) {
  const auto file = [&](const std::string& name, const std::string& dict) {
    return write_bytes(name, npy_file(1, dict, std::string(64, '\0')));
  };
  expect_read_error(file("noshape.npy", "{'descr': '<f4', 'fortran_order': False, }"),
                    "no 'shape' key");
  expect_read_error(file("nodescr.npy", "{'fortran_order': False, 'shape': (2,), }"),
                    "no 'descr' key");
  expect_read_error(file("nofo.npy", "{'descr': '<f4', 'shape': (2,), }"),
                    "no 'fortran_order' key");
  expect_read_error(
      file("extra.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
      "unexpected key 'x'");
  expect_read_error(file("fo.npy", "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }"),
                    "'fortran_order' is not True/False");
  expect_read_error(file("unterminated.npy", "{'descr': '<f4', 'fortran_order': False, 'shape'"),
                    "malformed header");
  expect_read_error(file("garbage.npy", "this is not a python dict at all, honestly"),
                    "malformed header");
  expect_read_error(
      file("trailing.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } extra"),
      "malformed header");
  expect_read_error(file("shapestr.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': 2}"),
                    "'shape' is not a tuple");
}

TEST_F(NpyTest, BadShapes) {
  const auto file = [&](const std::string& name, const std::string& shape) {
    return write_bytes(
        name, npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }",
                       std::string(64, '\0')));
  };
  expect_read_error(file("neg.npy", "(-3, 2)"), "negative dimension (-3)");
  expect_read_error(file("huge.npy", "(123456789012345678901234567890,)"),
                    "absurdly large dimension");
  expect_read_error(file("overflow.npy", "(4294967296, 4294967296)"),
                    "overflows the element count");
  expect_read_error(file("float.npy", "(2.5,)"), "malformed header");
  expect_read_error(file("big.npy", "(1000000, 1000000)"),
                    "truncated: header says 1000000x1000000 float32 (4000000000000 bytes)");
}

TEST_F(NpyTest, TruncatedData) {
  const std::string p = write_bytes(
      "features.npy", npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (8192, 5), }",
                               std::string(1000, '\0')));
  expect_read_error(
      p,
      "truncated: header says 8192x5 float32 (163840 bytes) but only 1000 bytes follow the header");
}

TEST_F(NpyTest, WriteToMissingDirectoryThrows) {
  const std::vector<float> v = {1};
  const std::string p = path("no/such/dir/x.npy");
  try {
    write_npy(p, v.data(), {1});
    ADD_FAILURE() << "no error writing " << p;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind(p + ": ", 0), 0u) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
  }
  EXPECT_THROW(write_npy(path("neg.npy"), v.data(), {-1}), InputError);
}

TEST_F(NpyTest, WriteOverADirectoryThrowsAndCleansUp) {
  fs::create_directories(path("taken.npy"));
  fs::create_directories(path("taken.npy") + "/child");
  const std::vector<float> v = {1};
  EXPECT_THROW(write_npy(path("taken.npy"), v.data(), {1}), InputError);
  EXPECT_FALSE(fs::exists(path("taken.npy") + ".tmp"));
}

}  // namespace
}  // namespace xent
