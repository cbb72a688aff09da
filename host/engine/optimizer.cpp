#include "xent/optimizer.h"

#include <string>

namespace xent {

Adam::Adam(Backend& b, const ParameterLayout& layout, const AdamParams& p)
    : b_(b),
      tensors_(layout.tensors()),
      p_(p),
      m_(b, static_cast<size_t>(layout.total())),
      v_(b, static_cast<size_t>(layout.total())) {
  b_.zero(m_.data(), m_.size() * sizeof(float));
  b_.zero(v_.data(), v_.size() * sizeof(float));
}

void Adam::update(float* params, const float* grads, const int64_t* step) {
  b_.adam(static_cast<int64_t>(m_.size()), params, grads, m_.data(), v_.data(), p_, step);
}

std::vector<StateTensor> Adam::state() {
  std::vector<StateTensor> out;
  for (const auto& t : tensors_) out.push_back({"adam.m." + t.name, m_.data() + t.offset, t.size});
  for (const auto& t : tensors_) out.push_back({"adam.v." + t.name, v_.data() + t.offset, t.size});
  return out;
}

}  // namespace xent
