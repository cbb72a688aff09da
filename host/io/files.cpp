#include "io/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

#include "xent/error.h"

namespace xent {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) throw InputError(path_ + ": cannot write (" + std::strerror(errno) + ")");
}

AtomicFile::~AtomicFile() {
  if (f_) {
    std::fclose(f_);
    std::remove(tmp_.c_str());
  }
}

void AtomicFile::fail(const std::string& what) {
  const std::string why = errno ? std::string(" (") + std::strerror(errno) + ")" : "";
  if (f_) std::fclose(f_);
  f_ = nullptr;
  std::remove(tmp_.c_str());
  throw InputError(path_ + ": " + what + why);
}

void AtomicFile::write(const void* data, size_t bytes) {
  errno = 0;
  if (std::fwrite(data, 1, bytes, f_) != bytes) fail("write failed");
}

void AtomicFile::commit() {
  errno = 0;
  if (std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0) fail("write failed");
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) {
    std::remove(tmp_.c_str());
    throw InputError(path_ + ": write failed");
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp_.c_str());
    throw InputError(path_ + ": cannot rename into place (" + why + ")");
  }
  // Best effort: a file system that cannot sync a directory still has the renamed file.
  const std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string read_file_or_empty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string read_input_file(const std::string& path, size_t limit, const std::string& kind) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path + ": cannot open " + kind + " (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open " + kind);
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw InputError(path + ": cannot read " + kind);
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

void write_file_atomic(const std::string& path, const std::string& text) {
  AtomicFile f(path);
  f.write(text.data(), text.size());
  f.commit();
}

void prepare_output_dir(const std::string& dir, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      throw InputError("--out " + dir + ": exists and is not a directory");
    if (!fs::is_empty(dir, ec) && !force)
      throw InputError("--out " + dir +
                       ": already holds files (choose another directory, or --force to replace "
                       "its results)");
    return;
  }
  fs::create_directories(dir, ec);
  if (ec) throw InputError("--out " + dir + ": cannot create directory (" + ec.message() + ")");
}

}  // namespace xent
