#include "engine/metrics_files.h"

#include <utility>

#include "io/files.h"
#include "xent/error.h"

namespace xent {

nlohmann::ordered_json metrics_json(const MetricValues& v) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const Metric& m : v) j[m.name] = m.value;
  return j;
}

std::string metrics_row_json(const MetricsRow& row) {
  nlohmann::ordered_json j = {
      {"step", row.step}, {"replica", row.replica}, {"seed", row.seed}, {"wall_s", row.wall_s}};
  j.update(metrics_json(row.values));
  return j.dump() + "\n";
}

JsonlSink::JsonlSink(std::string path, bool append, std::string loss_path)
    : path_(std::move(path)),
      loss_path_(std::move(loss_path)),
      out_(path_, append ? std::ios::app : std::ios::trunc) {
  if (!out_) throw InputError(path_ + ": cannot write");
  if (loss_path_.empty()) return;
  loss_.open(loss_path_, append ? std::ios::app : std::ios::trunc);
  if (!loss_) throw InputError(loss_path_ + ": cannot write");
}

namespace {

void append_rows(std::ofstream& out, const std::string& path, const std::vector<MetricsRow>& rows) {
  for (const MetricsRow& r : rows) out << metrics_row_json(r);
  out.flush();
  if (!out) throw InputError(path + ": write failed");
}

}  // namespace

void JsonlSink::write(const std::vector<MetricsRow>& rows) { append_rows(out_, path_, rows); }

void JsonlSink::write_losses(const std::vector<MetricsRow>& rows) {
  if (!loss_path_.empty()) append_rows(loss_, loss_path_, rows);
}

bool truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  std::string kept;
  bool have_step = false;
  for (std::string l; std::getline(in, l);) {
    const nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer())
      continue;
    const int64_t s = j["step"].get<int64_t>();
    if (s > step) continue;
    have_step = have_step || s == step;
    kept += l + "\n";
  }
  write_file_atomic(path, kept);
  return have_step;
}

}  // namespace xent
