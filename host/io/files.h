// Writing results so that a crash never leaves a file looking complete.
#pragma once
#include <cstddef>
#include <cstdio>
#include <string>

namespace xent {

// A file written to path + ".tmp" and renamed over path by commit(), after its data reached
// the disk (fflush + fsync, then an fsync of the directory so that the rename itself
// survives a power cut). Until commit() returns, path keeps its previous content; a file
// destroyed without commit() removes its .tmp. Errors throw InputError naming path.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  void write(const void* data, size_t bytes);
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what);
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

// Writes text to path through an AtomicFile. Throws InputError naming the file when it cannot.
void write_file_atomic(const std::string& path, const std::string& text);

// The whole file, or "" when it cannot be read (a file that may not exist yet).
std::string read_file_or_empty(const std::string& path);

// A user's input file of at most `limit` bytes, read with one byte more so that the caller can
// refuse a longer one. Throws InputError "path: cannot open <kind>" (also for a directory, which
// would otherwise read as empty) or "cannot read <kind>".
std::string read_input_file(const std::string& path, size_t limit, const std::string& kind);

// Creates dir (and parents) for a run's outputs. When it already holds files and force is
// false, throws InputError rather than mixing two runs' results.
void prepare_output_dir(const std::string& dir, bool force);

}  // namespace xent
