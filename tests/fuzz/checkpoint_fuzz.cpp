// libFuzzer target for the checkpoint reader (parse_checkpoint), and a restore into a small trainer
// when the bytes pass it. Built by -DXENT_FUZZ=ON with clang, run by tools/fuzz.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xent::fuzz::checkpoint_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
