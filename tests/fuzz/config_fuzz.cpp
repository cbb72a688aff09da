// libFuzzer target for the config parser: a TOML file and --set strings (load_config_text), then
// the round trip through to_toml. Built by -DXENT_FUZZ=ON with clang, run by tools/fuzz.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/readers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  xent::fuzz::config_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
