#include "experiments/imagenet_x/inputs.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "io/files.h"
#include "xent/error.h"
#include "xent/npy.h"

namespace xent {
namespace {

// The reference's 17 targets (imagenetx/decode.py's target_names): ImageNet-X's 16 factors,
// and `class`, binarised as class index > the mean index.
const std::vector<std::string> kImagenetXTargets = {"class",           "multiple_objects",
                                                    "background",      "color",
                                                    "brighter",        "darker",
                                                    "style",           "larger",
                                                    "smaller",         "object_blocking",
                                                    "person_blocking", "partial_view",
                                                    "pattern",         "pose",
                                                    "shape",           "subcategory",
                                                    "texture"};

constexpr size_t kMaxTextBytes = size_t{512} << 20;  // jsonl, csv and file-name lists

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

}  // namespace

FeatureSet load_features(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
    throw InputError("--features " + spec + ": expected NAME=PATH");
  FeatureSet f;
  f.name = spec.substr(0, eq);
  for (const char c : f.name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      throw InputError("--features " + spec + ": NAME may hold letters, digits, '_', '-', '.'");
  const std::string path = spec.substr(eq + 1);
  NpyArray a = read_npy(path);
  if (a.shape.size() != 2 || a.shape[0] < 1 || a.shape[1] < 1)
    throw InputError(path + ": expected features [rows][columns], a 2-D array");
  if (a.shape[1] > (1 << 24)) throw InputError(path + ": too many columns");
  f.rows = a.shape[0];
  f.cols = static_cast<int>(a.shape[1]);
  f.x = std::move(a.data);
  return f;
}

namespace {

int32_t binary_value(double v, const std::string& where) {
  if (v != 0.0 && v != 1.0) throw InputError(where + ": expected 0 or 1, got " + std::to_string(v));
  return static_cast<int32_t>(v);
}

// A class label of a table: an integer 0 .. 2^24 (0/1 for a binary target, 0 .. K-1 for K).
int32_t class_value(double v, const std::string& where) {
  if (!(v >= 0.0 && v <= 16777216.0 && v == std::floor(v)))
    throw InputError(where + ": expected a class label (an integer >= 0), got " +
                     std::to_string(v));
  return static_cast<int32_t>(v);
}

// ImageNet-X annotations: one JSON object per image, aligned to the feature rows by file name.
FactorTargets load_jsonl(const std::string& path, const std::string& names_path, int64_t rows) {
  if (names_path.empty())
    throw InputError("--targets " + path + ": a .jsonl needs --file-names (one per feature row)");
  const std::vector<std::string> names =
      lines_of(read_input_file(names_path, kMaxTextBytes, "file-name list"));
  if (static_cast<int64_t>(names.size()) != rows)
    throw InputError(names_path + ": " + std::to_string(names.size()) +
                     " file names, but the features have " + std::to_string(rows) + " rows");
  std::map<std::string, nlohmann::json> by_name;
  const std::vector<std::string> lines =
      lines_of(read_input_file(path, kMaxTextBytes, "annotation file"));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(lines[i]);
    } catch (const nlohmann::json::exception&) {
      throw InputError(path + ":" + std::to_string(i + 1) + ": not a JSON object");
    }
    if (!j.is_object() || !j.contains("file_name") || !j["file_name"].is_string())
      throw InputError(path + ":" + std::to_string(i + 1) + ": no \"file_name\" string");
    std::string name = j["file_name"].get<std::string>();
    by_name[std::move(name)] = std::move(j);
  }
  FactorTargets t;
  t.names = kImagenetXTargets;
  t.labels.assign(t.names.size(), std::vector<int32_t>(static_cast<size_t>(rows)));
  std::vector<double> cls(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const auto it = by_name.find(names[r]);
    if (it == by_name.end())
      throw InputError(names_path + ":" + std::to_string(r + 1) + ": " + names[r] + " is not in " +
                       path);
    const nlohmann::json& j = it->second;
    for (size_t k = 0; k < t.names.size(); ++k) {
      const std::string& key = t.names[k];
      if (!j.contains(key) || !j[key].is_number())
        throw InputError(path + ": " + names[r] + " has no numeric \"" + key + "\"");
      const double v = j[key].get<double>();
      if (k == 0)
        cls[r] = v;
      else
        t.labels[k][r] = binary_value(v, path + ": " + names[r] + " \"" + key + "\"");
    }
  }
  double mean = 0.0;
  for (const double c : cls) mean += c;
  mean /= static_cast<double>(rows);
  for (int64_t r = 0; r < rows; ++r) t.labels[0][r] = cls[r] > mean;
  return t;
}

// Integer class labels [rows] or [rows][targets] from a .npy or a .csv with a header of names.
FactorTargets load_table(const std::string& path, int64_t rows) {
  FactorTargets t;
  std::vector<double> v;
  int64_t n = 0, cols = 0;
  if (path.size() >= 4 && path.substr(path.size() - 4) == ".csv") {
    const std::vector<std::string> lines = lines_of(read_input_file(path, kMaxTextBytes, "csv"));
    if (lines.empty()) throw InputError(path + ": empty");
    const auto cells = [](const std::string& line) {
      std::vector<std::string> out;
      std::string cell;
      std::istringstream in(line);
      while (std::getline(in, cell, ',')) out.push_back(cell);
      if (!line.empty() && line.back() == ',') out.push_back("");
      return out;
    };
    t.names = cells(lines[0]);
    cols = static_cast<int64_t>(t.names.size());
    for (size_t i = 1; i < lines.size(); ++i) {
      const std::vector<std::string> c = cells(lines[i]);
      if (static_cast<int64_t>(c.size()) != cols)
        throw InputError(path + ":" + std::to_string(i + 1) + ": " + std::to_string(c.size()) +
                         " cells, the header has " + std::to_string(cols));
      for (const std::string& s : c) {
        size_t used = 0;
        double x = 0;
        try {
          x = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != s.size())
          throw InputError(path + ":" + std::to_string(i + 1) + ": \"" + s + "\" is not a number");
        v.push_back(x);
      }
      ++n;
    }
  } else {
    NpyArray a = read_npy(path);
    if (a.shape.empty() || a.shape.size() > 2)
      throw InputError(path + ": expected labels [rows] or [rows][targets]");
    n = a.shape[0];
    cols = a.shape.size() == 2 ? a.shape[1] : 1;
    for (int64_t k = 0; k < cols; ++k)
      t.names.push_back(cols == 1 ? "target" : "target" + std::to_string(k));
    v = std::move(a.data);
  }
  if (n != rows)
    throw InputError(path + ": " + std::to_string(n) + " rows of labels, but the features have " +
                     std::to_string(rows));
  t.labels.assign(static_cast<size_t>(cols), std::vector<int32_t>(static_cast<size_t>(rows)));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      t.labels[k][r] = class_value(v[static_cast<size_t>(r * cols + k)],
                                   path + ": row " + std::to_string(r) + ", " + t.names[k]);
  return t;
}

}  // namespace

FactorTargets load_targets(const std::string& path, const std::string& file_names, int64_t rows) {
  const bool jsonl = path.size() >= 6 && path.substr(path.size() - 6) == ".jsonl";
  return jsonl ? load_jsonl(path, file_names, rows) : load_table(path, rows);
}

}  // namespace xent
