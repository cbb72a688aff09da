// A one-line progress bar on stderr, drawn only on a terminal and at most ~10 times a second.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace xent {

class ProgressBar {
 public:
  ProgressBar(int64_t total, bool enabled);
  // Redraws if enough time passed (or force); suffix is appended after the rate (e.g. loss).
  void update(int64_t done, const std::string& suffix, bool force = false);
  // Leaves the last state on its own line.
  void finish();
  bool enabled() const { return enabled_; }
  double elapsed() const;
  // True when a redraw is due: callers fetch values for the suffix only then.
  bool due() const;

 private:
  int64_t total_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// stderr is a terminal and TERM is not "dumb".
bool stderr_is_terminal();

}  // namespace xent
