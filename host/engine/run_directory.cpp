#include "engine/run_directory.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "io/files.h"
#include "xent/error.h"

namespace xent {
namespace {

using Json = nlohmann::ordered_json;

// The resolved config.toml that xent writes ("[section]" lines, then "key = value" lines) as
// {section: {key: value}}, in the file's order.
Json config_json(const std::string& toml) {
  Json out = Json::object();
  Json* section = &out;
  std::istringstream in(toml);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = &out[line.substr(1, line.size() - 2)];
      *section = Json::object();
      continue;
    }
    const size_t eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    (*section)[line.substr(0, eq)] = toml_value_json(line.substr(eq + 3));
  }
  return out;
}

// Outputs a run writes; a fresh run removes those an earlier run in its directory left.
constexpr const char* kOutputs[] = {"metrics.jsonl", "loss.jsonl",   "checkpoint.xck",
                                    "results.csv",   "summary.json", "failed.json"};

}  // namespace

Json toml_value_json(const std::string& toml_value) {
  Json j = Json::parse(toml_value, nullptr, false);
  if (j.is_discarded()) return toml_value;
  return j;
}

Json summary_json(const Summary& s) {
  return {{"schema", kSummarySchema}, {"run", s.run},        {"config", config_json(s.config_toml)},
          {"backend", s.backend},     {"steps", s.steps},    {"timings", s.timings},
          {"replicas", s.replicas},   {"results", s.results}};
}

Json run_timings(const RunOutcome& r, double wall_s) {
  const auto rate = [](int64_t steps, double s) {
    return steps > 0 && s > 0 ? static_cast<double>(steps) / s : 0.0;
  };
  return {{"wall_s", wall_s},
          {"train_s", r.train_s},
          {"steps_per_s", rate(r.steps_trained, r.train_s)},
          {"steady_steps", r.steady_steps},
          {"steady_steps_per_s", rate(r.steady_steps, r.steady_s)}};
}

RunDirectory RunDirectory::fresh(const std::string& dir, bool force,
                                 const std::string& config_toml) {
  prepare_output_dir(dir, force);
  RunDirectory d(dir);
  d.write("config.toml", config_toml);
  for (const char* f : kOutputs) std::remove(d.file(f).c_str());
  return d;
}

std::string RunDirectory::resumable(const std::string& dir, const std::string& command) {
  const std::string cfg = dir + "/config.toml";
  if (!std::filesystem::exists(cfg))
    throw InputError(cfg + ": missing (is " + dir + " a directory written by " + command + "?)");
  const std::string ck = dir + "/checkpoint.xck";
  if (!std::filesystem::exists(ck))
    throw InputError(ck +
                     ": missing (nothing to resume from: the run stopped before its first "
                     "checkpoint, or the file was removed)");
  return cfg;
}

RunDirectory RunDirectory::resume(const std::string& dir, const std::string& config_toml,
                                  int64_t step) {
  RunDirectory d(dir);
  d.resumed_ = true;
  d.write("config.toml", config_toml);
  std::remove(d.file("summary.json").c_str());
  d.final_rows_written_ = truncate_metrics(d.file("metrics.jsonl"), step);
  truncate_metrics(d.file("loss.jsonl"), step);
  return d;
}

std::unique_ptr<JsonlSink> RunDirectory::sink() const {
  return std::make_unique<JsonlSink>(file("metrics.jsonl"), resumed_, file("loss.jsonl"));
}

void RunDirectory::write(const std::string& name, const std::string& text) const {
  write_file_atomic(file(name), text);
}

void RunDirectory::write_summary(const Summary& s) const {
  write("summary.json", summary_json(s).dump(2) + "\n");
}

}  // namespace xent
