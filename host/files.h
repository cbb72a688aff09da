// Writing results so that a crash never leaves a file looking complete.
#pragma once
#include <string>

namespace xent {

// Writes text to path + ".tmp", flushes it and renames it over path.
// Throws InputError naming the file when it cannot.
void write_file_atomic(const std::string& path, const std::string& text);

// Creates dir (and parents) for a run's outputs. When it already holds files and force is
// false, throws InputError rather than mixing two runs' results.
void prepare_output_dir(const std::string& dir, bool force);

}  // namespace xent
