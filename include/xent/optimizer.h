// The optimiser of every trainer: Adam over one flat parameter buffer laid out by a
// ParameterLayout (K replicas of every tensor), its moments, its update and their names in a
// checkpoint.
#pragma once
#include <cstdint>
#include <vector>

#include "xent/backend.h"
#include "xent/layers.h"

namespace xent {

class Adam {
 public:
  // The moments m and v of every float of the layout, zeroed. The layout's padding stays zero:
  // its gradients are zero.
  Adam(Backend& b, const ParameterLayout& layout, const AdamParams& p);
  Adam(const Adam&) = delete;
  Adam& operator=(const Adam&) = delete;

  // One update of every replica's parameters from its gradients. The 1-based step number (for
  // the bias corrections) is read from backend memory, so that a recorded step replays it.
  void update(float* params, const float* grads, const int64_t* step);

  // The moments as a checkpoint holds them: "adam.m.<tensor>" for every tensor of the layout,
  // then "adam.v.<tensor>", in the layout's order.
  std::vector<StateTensor> state();

 private:
  Backend& b_;
  std::vector<ParamTensor> tensors_;
  AdamParams p_;
  DeviceArray<float> m_, v_;
};

}  // namespace xent
