// The factor probes of a run from inputs to results: every feature set probed for every target
// (probe_factors), then OUT/results.json, results.csv, the fitted weights (repeats = 0) and
// factors.png. `xent probe-factors` and xent.probe_factors call it.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "experiments/imagenet_x/probe_factors.h"
#include "xent/backend.h"

namespace xent {

struct FactorProbeJob {
  std::vector<FeatureSet> features;  // each with its own name, all of the same rows
  FactorTargets targets;
  FactorProbeOptions options;
  // Where the files go; "" writes none. It must be new or empty unless force.
  std::string out;
  bool force = false;
  bool quiet = true;  // otherwise a line per feature set on stderr
};

struct FactorProbeOutcome {
  std::vector<FactorProbe> probes;  // per feature set
  nlohmann::json results;           // results.json: features, targets, options, results
  std::string results_csv;          // results.csv: a row per feature set, target, repeat, part
  bool multiclass = false;          // some target has more than two classes
  std::string part;                 // the part scored: "test", or "all" for repeats = 0
};

// Throws InputError (names twice, rows that differ, a target the probe refuses) before any
// file is written.
FactorProbeOutcome run_factor_probes(Backend& b, const FactorProbeJob& job);

}  // namespace xent
