#include "files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "xent/error.h"

namespace xent {

void write_file_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw InputError(path + ": cannot write (" + std::strerror(errno) + ")");
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  if (std::fclose(f) != 0 || !ok) {
    std::remove(tmp.c_str());
    throw InputError(path + ": write failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(path + ": cannot rename into place");
  }
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
