// The figure of `xent probe-factors`, drawn as the paper's ImageNet-X figure: per target (x,
// sorted by the first feature set's mean accuracy) and feature set (one colour each), the mean
// accuracy over repeats +- its standard error, the chance level (1/K for K balanced classes),
// and a star where a two-sided one-sample t-test of the repeats' accuracies against chance
// passes at the Bonferroni level 0.05 / (targets x feature sets).
#pragma once
#include <string>
#include <vector>

#include "experiments/imagenet_x/probe_factors.h"

namespace xent {

// `part`: the scored part to draw ("test", or "all" for repeats = 0). Throws InputError naming
// the file when it cannot be written.
void write_factor_figure(const std::string& path, const std::vector<FactorProbe>& probes,
                         const std::vector<std::string>& targets, const std::string& part);

}  // namespace xent
