// The probe's inputs from files, as `xent probe-factors` reads them: feature sets (.npy) and
// targets (ImageNet-X annotations .jsonl aligned by file name, or class labels in a .npy or
// .csv). Every problem is an InputError naming the file, line or row.
#pragma once
#include <cstdint>
#include <string>

#include "experiments/imagenet_x/probe_factors.h"

namespace xent {

// "NAME=PATH": the feature set NAME, [rows][p] from the .npy at PATH.
FeatureSet load_features(const std::string& spec);

// The targets of `rows` feature rows from path: a .jsonl of ImageNet-X annotations (with
// file_names, a text file of one image file name per feature row; the reference's 17 targets,
// `class` binarised as index > the mean index), or integer class labels [rows] or
// [rows][targets] from a .npy or from a .csv with a header of names.
FactorTargets load_targets(const std::string& path, const std::string& file_names, int64_t rows);

}  // namespace xent
