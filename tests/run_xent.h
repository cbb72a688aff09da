// Runs the xent binary built alongside the tests and captures its exit code and stderr.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace xent::test {

struct XentResult {
  int code;
  std::string err;
};

inline XentResult run_xent(const std::string& args) {
  const std::string cmd = std::string(XENT_BINARY) + " " + args + " 2>&1 >/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::string out;
  std::array<char, 512> buf;
  while (fgets(buf.data(), static_cast<int>(buf.size()), p)) out += buf.data();
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace xent::test
