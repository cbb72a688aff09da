#include <algorithm>

#include "xent/dislib.h"
#include "xent/dsprites.h"
#include "xent/error.h"
#include "xent/philox.h"
#include "xent/shapes3d.h"

namespace xent::dislib {
namespace {

// Philox streams of the DisLib experiments' own, apart from every RngPurpose (whose top byte
// is 1..5). dSprites had them first; the values stay, so that its splits stay.
constexpr uint64_t kSplitStream = uint64_t{0xD5} << 56;
constexpr uint64_t kEpochStreams = uint64_t{0xD6} << 56;

std::vector<Dataset> make_datasets() {
  std::vector<Dataset> out;
  {
    using namespace dsprites;
    Dataset d{DatasetId::Dsprites, "dsprites",   kImages, kPixels, kShapes, "shape", {}, {}, {},
              render_masks,        probe_targets};
    d.targets.assign(kTargetNames, kTargetNames + kTargets);
    // docs/paper.md, Table 4: shape, scale, posX, posY; the paper has no orientation column.
    d.paper_mlp = {.94, .98, -1, -1, .97, .97};
    d.paper_pixels = {.26, .62, -1, -1, .92, .92};
    out.push_back(std::move(d));
  }
  {
    using namespace shapes3d;
    // The reference's categorical factor for shapes3d is objType, the shape; the paper's Table
    // 4 values are not in docs/paper.md, so no paper row.
    Dataset d{DatasetId::Shapes3d, "shapes3d",   kImages, kValues, kClasses, "shape", {}, {}, {},
              render_views,        probe_targets};
    d.targets.assign(kTargetNames, kTargetNames + kTargets);
    out.push_back(std::move(d));
  }
  return out;
}

const std::vector<Dataset>& datasets() {
  static const std::vector<Dataset> d = make_datasets();
  return d;
}

}  // namespace

std::vector<std::string> dataset_names() {
  std::vector<std::string> out;
  for (const Dataset& d : datasets()) out.push_back(d.name);
  return out;
}

const Dataset& dataset(const std::string& name) {
  std::string known;
  for (const Dataset& d : datasets()) {
    if (d.name == name) return d;
    known += (known.empty() ? "" : ", ") + d.name;
  }
  throw InputError("data.name: unknown dataset '" + name + "' (expected one of " + known + ")");
}

void render(Backend& b, const Dataset& d, const uint8_t* tables, const int32_t* index,
            const int64_t* batches_done, int64_t period, int64_t n, float* images,
            int32_t* labels) {
  switch (d.id) {
    case DatasetId::Dsprites:
      b.render_sprites(tables, index, batches_done, period, n, images, labels);
      return;
    case DatasetId::Shapes3d:
      b.render_shapes3d(tables, index, batches_done, period, n, images, labels);
      return;
  }
  throw InputError("data.name: the dataset '" + d.name + "' has no renderer");
}

void shuffle(std::vector<int32_t>& v, uint64_t seed, uint64_t stream) {
  Philox rng(seed, stream, 0);
  for (size_t i = v.size(); i-- > 1;) {
    // uniform_double is in (0, 1]: the top end would pick i + 1.
    const auto j = static_cast<size_t>(rng.uniform_double() * static_cast<double>(i + 1));
    std::swap(v[i], v[std::min(j, i)]);
  }
}

uint64_t epoch_stream(int64_t epoch) {
  return kEpochStreams | (static_cast<uint64_t>(epoch) & ((uint64_t{1} << 56) - 1));
}

Split make_split(int64_t images, uint64_t seed) {
  std::vector<int32_t> all(static_cast<size_t>(images));
  for (int64_t i = 0; i < images; ++i) all[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  shuffle(all, seed, kSplitStream);
  const int64_t n_train = images * 8 / 10, n_val = images / 10;
  Split s;
  s.train.assign(all.begin(), all.begin() + n_train);
  s.val.assign(all.begin() + n_train, all.begin() + n_train + n_val);
  s.test.assign(all.begin() + n_train + n_val, all.end());
  return s;
}

}  // namespace xent::dislib
