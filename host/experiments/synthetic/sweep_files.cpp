// A sweep's files: each run's directory and the gathered results table.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/run_directory.h"
#include "experiments/synthetic/summary.h"
#include "experiments/synthetic/sweep.h"
#include "io/files.h"
#include "xent/error.h"
#include "xent/trainer_run.h"

namespace xent {
namespace {

using Json = nlohmann::ordered_json;

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (const char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string csv_value(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return csv_field(v.get<std::string>());
  return csv_field(v.dump());
}

// The table row of one run: what it is, how it ended, its final metrics and its config.
Json table_row(const std::string& out, const SweepRun& r) {
  Json row = {{"run", r.id},
              {"row", r.row},
              {"seed", r.seed},
              {"status", "failed"},
              {"steps", r.config.train.steps},
              {"wall_s", nullptr}};
  for (const auto& m : metric_names()) row[m] = nullptr;
  row["error"] = nullptr;
  const std::string dir = run_dir(out, r);
  const Json summary = Json::parse(read_file_or_empty(dir + "/summary.json"), nullptr, false);
  const Json failed = Json::parse(read_file_or_empty(dir + "/failed.json"), nullptr, false);
  if (summary.is_object() && summary.contains("schema")) {
    row["status"] = "ok";
    row["wall_s"] = summary["timings"].value("wall_s", Json());
    for (const auto& m : metric_names()) row[m] = summary["replicas"][0].value(m, Json());
  } else if (summary.is_object() && summary.contains("metrics")) {
    // A run written before summary.json's envelope (a sweep begun by an older xent).
    row["status"] = "ok";
    row["wall_s"] = summary.value("wall_s", Json());
    for (const auto& m : metric_names()) row[m] = summary["metrics"].value(m, Json());
  } else if (failed.is_object()) {
    row["wall_s"] = failed.value("wall_s", Json());
    row["error"] = failed.value("error", Json("failed"));
  } else {
    row["error"] = "did not finish (no summary.json: the sweep was stopped before this run ended)";
  }
  Json config = Json::object();
  for (const auto& [k, v] : key_values(r.config)) config[k] = toml_value_json(v);
  row["config"] = config;
  return row;
}

}  // namespace

std::string run_dir(const std::string& out, const SweepRun& r) { return out + "/runs/" + r.id; }

void write_run(const std::string& out, const SweepRun& r, const RunResult& res) {
  const RunDirectory dir = RunDirectory::fresh(run_dir(out, r), true, to_toml(r.config));
  dir.write("metrics.jsonl", res.metrics_jsonl);
  if (res.ok) {
    Summary s = synthetic_summary("sweep", "", res.backend, r.config, r.config.train.steps,
                                  {r.seed}, {metric_values(res.metrics)}, {{"wall_s", res.wall_s}});
    s.run["id"] = r.id;
    s.run["row"] = r.row;
    s.run["rank"] = res.rank;
    s.run["population"] = res.population;
    dir.write_summary(s);
  } else {
    const Json j = {{"run", r.id},
                    {"row", r.row},
                    {"seed", r.seed},
                    {"status", "failed"},
                    {"steps", r.config.train.steps},
                    {"backend", res.backend},
                    {"population", res.population},
                    {"rank", res.rank},
                    {"wall_s", res.wall_s},
                    {"error", res.error}};
    dir.write("failed.json", j.dump(2) + "\n");
  }
}

bool run_done(const std::string& out, const SweepRun& r) {
  const std::string dir = run_dir(out, r);
  if (!std::filesystem::exists(dir + "/summary.json")) return false;
  if (read_file_or_empty(dir + "/config.toml") != to_toml(r.config))
    throw InputError(dir + "/config.toml: differs from this sweep's config for run " + r.id +
                     " (the sweep file, --set or --steps changed; use another --out)");
  return true;
}

int write_results(const std::string& out, const SweepPlan& plan) {
  std::string jsonl, csv;
  int failed = 0;
  for (size_t i = 0; i < plan.runs.size(); ++i) {
    const Json row = table_row(out, plan.runs[i]);
    failed += row["status"] != "ok";
    jsonl += row.dump() + "\n";
    if (i == 0) {
      std::string header;
      for (const auto& [k, v] : row.items())
        if (k != "config") header += (header.empty() ? "" : ",") + k;
      for (const auto& [k, v] : row["config"].items()) header += "," + k;
      csv += header + "\n";
    }
    std::string line;
    for (const auto& [k, v] : row.items())
      if (k != "config") line += (line.empty() ? "" : ",") + csv_value(v);
    for (const auto& [k, v] : row["config"].items()) line += "," + csv_value(v);
    csv += line + "\n";
  }
  write_file_atomic(out + "/results.jsonl", jsonl);
  write_file_atomic(out + "/results.csv", csv);
  return failed;
}

}  // namespace xent
