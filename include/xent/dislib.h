// The DisLib datasets xent renders (dSprites, 3D Shapes): what the shared classifier, probe and
// front end need to know about each, and the split and batch orders they share.
//
// Every dataset is a fixed list of images numbered as in its original file, each rendered on
// demand by a Backend op from small tables built once on the host, so that no dataset of float
// images is ever stored.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "xent/backend.h"

namespace xent::dislib {

enum class DatasetId { Dsprites, Shapes3d };

struct Dataset {
  DatasetId id;
  std::string name;   // "dsprites", as in config files and on the command line
  int64_t images;     // in the whole dataset
  int values;         // floats per image (pixels times channels)
  int classes;        // of the classification target
  std::string label;  // the factor the classifier is trained on (the reference's `categorical`)
  // The probe's targets, in the order probe_targets writes them.
  std::vector<std::string> targets;
  // The paper's Table 4 Pearson r per target (MLP, then raw pixels; < 0 where it gives none);
  // empty when the paper has no row for this dataset.
  std::vector<double> paper_mlp, paper_pixels;
  // The host tables the render op reads (dSprites' sprite masks, 3D Shapes' views).
  std::vector<uint8_t> (*tables)();
  // The z-scored probe targets of one image, targets.size() values.
  void (*probe_targets)(int64_t image, double* out);
};

// The dataset of that name. Throws InputError naming it and listing the known ones.
const Dataset& dataset(const std::string& name);
std::vector<std::string> dataset_names();

// The dataset's render op (render_sprites, render_shapes3d), with their common contract:
// images [n][values] row r is image index[first + r], first = (*batches_done % period) * n (0
// when batches_done is null); labels [n] (may be null) the class.
void render(Backend& b, const Dataset& d, const uint8_t* tables, const int32_t* index,
            const int64_t* batches_done, int64_t period, int64_t n, float* images, int32_t* labels);

// Mean and standard deviation of a factor's values over all images (each value equally
// frequent: value(i) for i < count), for z-scoring the probe's targets.
struct Moments {
  double mean, sd;
};
template <class F>
Moments moments(int count, F value) {
  double s = 0, s2 = 0;
  for (int i = 0; i < count; ++i) s += value(i);
  const double mean = s / count;
  for (int i = 0; i < count; ++i) s2 += (value(i) - mean) * (value(i) - mean);
  return {mean, std::sqrt(s2 / count)};
}

// Fisher-Yates with Philox(seed, stream): the split below and each epoch's batch order.
void shuffle(std::vector<int32_t>& v, uint64_t seed, uint64_t stream);
// The stream of epoch e's batch order (the split uses another).
uint64_t epoch_stream(int64_t epoch);

// A fixed permutation of all image numbers (from `seed`), cut 80 / 10 / 10 into train,
// validation and test.
struct Split {
  std::vector<int32_t> train, val, test;
};
Split make_split(int64_t images, uint64_t seed);

}  // namespace xent::dislib
