// What a trainer minimises: a loss over a model's outputs for a run of replicas, with its gradient
// with respect to those outputs, which the model's backward pass then takes. Softmax
// cross-entropy is the loss of every experiment today; a trainer holds it through this interface
// so that another objective (a contrastive one) is a second implementation, not a second trainer.
#pragma once
#include <cstdint>

#include "xent/backend.h"

namespace xent {

class Loss {
 public:
  virtual ~Loss() = default;
  // outputs [replicas][rows][width] and targets [replicas][rows] of consecutive replicas; loss
  // [replicas] receives each replica's mean over its rows and correct [replicas] (may be null)
  // the number of rows the outputs get right, as a float. With grad the outputs are overwritten
  // by d(loss)/d(outputs).
  virtual void compute(int replicas, int64_t rows, float* outputs, const int32_t* targets,
                       float* loss, float* correct, bool grad) = 0;
};

// Softmax cross-entropy over `classes` logits (Backend::softmax_xent); targets are class
// indices, and a row is right when its largest logit is its class.
class SoftmaxCrossEntropy final : public Loss {
 public:
  SoftmaxCrossEntropy(Backend& b, int64_t classes) : b_(b), classes_(classes) {}
  void compute(int replicas, int64_t rows, float* outputs, const int32_t* targets, float* loss,
               float* correct, bool grad) override {
    b_.softmax_xent({replicas, rows, classes_}, outputs, targets, loss, correct, grad);
  }

 private:
  Backend& b_;
  int64_t classes_;
};

}  // namespace xent
