// The checker's findings as text: the kernel's name and each access's file:line from the
// binary's line tables (addr2line, run only when there is something to report), each hazard
// once per kernel and address, and the switch that turns the checker on.
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>

#include "check.h"
#include "internal.h"

namespace xent::simt {
namespace check {
namespace {

using detail::format;

struct Capture {
  bool was_enabled = false;
  std::vector<Hazard> hazards;
  std::set<std::tuple<std::string, uintptr_t, int>> seen;  // kernel, address or site, line
};

[[noreturn]] void die_env(const std::string& v) {
  detail::die(format("XENT_SIMT_CHECK=%s: expected 0, 1 or all", v.c_str()));
}

// A kernel, its grid and block dimensions and its dynamic shared bytes.
using Configuration =
    std::tuple<const void*, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, size_t>;

struct State {
  std::atomic<bool> enabled{false};
  bool every_launch = false;              // XENT_SIMT_CHECK=all
  std::map<Configuration, int> launches;  // checked so far
  std::atomic<bool> instrumented{false};
  std::mutex mutex;
  Capture* capture = nullptr;
};

State& state() {
  static State* s = [] {
    auto* out = new State;  // never destroyed: launches may run during static destruction
    if (const char* env = std::getenv("XENT_SIMT_CHECK")) {
      const std::string v = env;
      if (v != "0" && v != "1" && v != "all") die_env(v);
      out->enabled = v != "0";
      out->every_launch = v == "all";
    }
    return out;
  }();
  return *s;
}

// Paths as the repository names them, not as this machine does.
std::string relative(std::string path) {
#if defined(XENT_SOURCE_DIR)
  const std::string root = XENT_SOURCE_DIR;
  if (path.compare(0, root.size(), root) == 0) path.erase(0, root.size());
#endif
  return path;
}

struct Frame {
  std::string function, line;  // line: file:line
};

// For each code address: its frames, innermost first (inlined callees, then their callers).
std::map<uintptr_t, std::vector<Frame>> symbolize(const std::set<uintptr_t>& pcs) {
  std::map<std::string, std::vector<std::pair<uintptr_t, uintptr_t>>> by_file;  // file: pc, offset
  for (uintptr_t pc : pcs) {
    Dl_info info{};
    if (pc == 0 || dladdr(reinterpret_cast<void*>(pc), &info) == 0 || !info.dli_fbase) continue;
    const std::string file = info.dli_fname && *info.dli_fname ? info.dli_fname : "/proc/self/exe";
    by_file[file].emplace_back(pc, pc - reinterpret_cast<uintptr_t>(info.dli_fbase));
  }
  std::map<uintptr_t, std::vector<Frame>> out;
  for (const auto& [file, list] : by_file) {
    std::string cmd = "addr2line -a -f -C -i -e '" + file + "'";
    std::map<uintptr_t, uintptr_t> pc_of;
    for (const auto& [pc, offset] : list) {
      cmd += format(" 0x%zx", static_cast<size_t>(offset));
      pc_of[offset] = pc;
    }
    FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
    if (!p) continue;
    char buf[4096];
    std::vector<Frame>* frames = nullptr;
    std::string function;
    bool want_function = true;
    while (std::fgets(buf, sizeof buf, p)) {
      std::string line = buf;
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      if (line.rfind("0x", 0) == 0) {
        frames = &out[pc_of[std::strtoull(line.c_str(), nullptr, 16)]];
        want_function = true;
      } else if (frames && want_function) {
        function = line;
        want_function = false;
      } else if (frames) {
        const size_t d = line.find(" (discriminator");
        if (d != std::string::npos) line.erase(d);
        frames->push_back(Frame{function, relative(line)});
        want_function = true;
      }
    }
    pclose(p);
  }
  return out;
}

std::string triple(uint3 v) { return format("(%u,%u,%u)", v.x, v.y, v.z); }

uint3 unflatten(uint64_t i, dim3 d) {
  return uint3{static_cast<unsigned>(i % d.x), static_cast<unsigned>(i / d.x % d.y),
               static_cast<unsigned>(i / (uint64_t{d.x} * d.y))};
}

const char* warp_op_name(WarpOp op) {
  switch (op) {
    case WarpOp::kSync:
      return "__syncwarp";
    case WarpOp::kShflIdx:
    case WarpOp::kShflUp:
    case WarpOp::kShflDown:
    case WarpOp::kShflXor:
      return "a warp shuffle";
    case WarpOp::kBallot:
    case WarpOp::kAny:
    case WarpOp::kAll:
      return "a warp vote";
    default:
      return "a warp reduction";
  }
}

}  // namespace

bool enabled() {
  State& s = state();
  return s.enabled.load(std::memory_order_relaxed);
}

void note_instrumented() { state().instrumented = true; }

bool wanted(const LaunchParams& p) {
  State& s = state();
  if (!s.enabled.load(std::memory_order_relaxed)) return false;
  std::lock_guard<std::mutex> lock(s.mutex);
  const uint64_t blocks = uint64_t{p.grid.x} * p.grid.y * p.grid.z;
  if (blocks >> 32) return false;  // the global shadow keeps 32-bit block indices
  if (s.every_launch || s.capture) return true;
  const Configuration c{p.kernel,  p.grid.x,  p.grid.y,  p.grid.z,
                        p.block.x, p.block.y, p.block.z, p.shared_bytes};
  return s.launches[c]++ < kSampledLaunches;
}

void Launch::finish() {
  if (hazards_.empty() && syncs_.empty()) return;
  std::set<uintptr_t> pcs{reinterpret_cast<uintptr_t>(params_.kernel)};
  for (const RawHazard& h : hazards_) pcs.insert({h.first.pc, h.second.pc});
  const auto frames = symbolize(pcs);
  auto site_of = [&](uintptr_t pc) {
    const auto it = frames.find(pc);
    if (it == frames.end() || it->second.empty()) return format("0x%zx", static_cast<size_t>(pc));
    return it->second.front().line;
  };
  auto context_of = [&](uintptr_t pc) -> std::string {
    const auto it = frames.find(pc);
    if (it == frames.end() || it->second.size() < 2) return "";
    return format(" (in %s, inlined at %s)", it->second.front().function.c_str(),
                  it->second.back().line.c_str());
  };
  std::string kernel = "?";
  if (const auto it = frames.find(reinterpret_cast<uintptr_t>(params_.kernel));
      it != frames.end() && !it->second.empty()) {
    kernel = it->second.back().function;
  }
  const dim3 g = params_.grid, b = params_.block;
  auto who = [&](const Party& p) {
    return format("%s by block %s thread %s",
                  p.atomic  ? "atomic"
                  : p.write ? "write"
                            : "read",
                  triple(unflatten(p.block, g)).c_str(), triple(unflatten(p.thread, b)).c_str());
  };

  std::vector<Hazard> found;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  Capture process_wide;
  Capture& c = s.capture ? *s.capture : process_wide;
  for (const RawHazard& h : hazards_) {
    if (!c.seen.insert({kernel, h.address, -1}).second) continue;
    const bool w1 = h.first.write, w2 = h.second.write;
    Hazard z;
    z.kind = w1 && w2 ? "write-after-write" : w1 ? "read-after-write" : "write-after-read";
    z.space = h.global ? "global" : "shared";
    z.kernel = kernel;
    z.first_site = site_of(h.first.pc);
    z.second_site = site_of(h.second.pc);
    z.message = format(
        "%s-memory %s hazard at %p in kernel %s launched at %s%s:\n  %s at %s%s\n  %s at %s%s",
        z.space.c_str(), z.kind.c_str(), reinterpret_cast<void*>(h.address), kernel.c_str(),
        detail::site_string(params_.site).c_str(),
        h.first.block != h.second.block ? " (two blocks: nothing orders them within a launch)" : "",
        who(h.first).c_str(), z.first_site.c_str(), context_of(h.first.pc).c_str(),
        who(h.second).c_str(), z.second_site.c_str(), context_of(h.second.pc).c_str());
    found.push_back(z);
  }
  for (const RawSync& y : syncs_) {
    if (!c.seen.insert({kernel + y.site.file, 0, y.site.line}).second) continue;
    Hazard z;
    z.kind = "warp-mask";
    z.space = "warp";
    z.kernel = kernel;
    z.first_site = z.second_site = relative(detail::site_string(y.site));
    z.message = format(
        "%s at %s in kernel %s launched at %s, block %s warp %u: mask 0x%08x names lanes "
        "0x%08x that do not take part (exited, or beyond the block)",
        warp_op_name(y.op), z.first_site.c_str(), kernel.c_str(),
        detail::site_string(params_.site).c_str(), triple(unflatten(y.block, g)).c_str(), y.warp,
        y.mask, y.absent);
    found.push_back(z);
  }
  if (s.capture) {
    s.capture->hazards.insert(s.capture->hazards.end(), found.begin(), found.end());
    return;
  }
  constexpr size_t kShown = 16;
  for (size_t i = 0; i < found.size() && i < kShown; ++i) {
    std::fprintf(stderr, "xent simt check: %s\n", found[i].message.c_str());
  }
  if (found.size() > kShown) {
    std::fprintf(stderr, "xent simt check: ... and %zu more in this launch\n",
                 found.size() - kShown);
  }
  detail::die(
      format("the checker found %zu problem(s) in kernel %s (XENT_SIMT_CHECK=0 turns "
             "it off)",
             found.size(), kernel.c_str()));
}

}  // namespace check

bool checking() { return check::enabled(); }

void set_checking(bool on) { check::state().enabled = on; }

bool memory_checks_built() { return check::state().instrumented; }

CheckCapture::CheckCapture() {
  check::State& s = check::state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.capture) detail::die("one CheckCapture at a time");
  s.capture = new check::Capture;
  s.capture->was_enabled = s.enabled;
  s.enabled = true;
}

CheckCapture::~CheckCapture() {
  check::State& s = check::state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.enabled = s.capture->was_enabled;
  delete s.capture;
  s.capture = nullptr;
}

std::vector<Hazard> CheckCapture::hazards() const {
  check::State& s = check::state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.capture->hazards;
}

}  // namespace xent::simt
