#pragma once
#include "xent/backend.h"

namespace xent {

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  std::string name() const override { return "cpu"; }
  void* allocate(size_t bytes) override;
  void release(void* p) override;
  void upload(void* dst, const void* src, size_t bytes) override;
  void download(void* dst, const void* src, size_t bytes) override;
  void zero(void* dst, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void linear_forward(const LinearShape& s, const float* x, const float* w, const float* b,
                      float* y) override;
  void linear_backward(const LinearShape& s, const float* x, const float* w, const float* dy,
                       float* dx, float* dw, float* db) override;
  void batchnorm_act_forward_train(const BatchNormShape& s, const float* h, const float* gamma,
                                   const float* beta, float* a, float* mean, float* rstd,
                                   float* running_mean, float* running_var) override;
  void batchnorm_act_forward_eval(const BatchNormShape& s, const float* h, const float* gamma,
                                  const float* beta, const float* running_mean,
                                  const float* running_var, float* a) override;
  void batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* a,
                              const float* gamma, const float* mean, const float* rstd,
                              const float* da, float* dh, float* dgamma, float* dbeta) override;
  void normalize_rows_forward(int64_t rows, int width, const float* x, float* y,
                              float* norms) override;
  void normalize_rows_backward(int64_t rows, int width, const float* y, const float* norms,
                               const float* dy, float* dx) override;
  void softmax_xent(const XentShape& s, float* logits, const int32_t* labels, float* loss,
                    float* correct, bool grad) override;
  void adam(int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,
            const int64_t* step) override;
  void sample_latents(const std::vector<DgpParams>& params, const std::vector<uint64_t>& seeds,
                      const float* centres, RngPurpose purpose, uint64_t first,
                      const int64_t* batches_done, int64_t n, float* z, int32_t* labels,
                      int32_t* cluster) override;
  void render_sprites(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                      int64_t period, int64_t n, float* images, int32_t* labels) override;
  void increment(int64_t* counter) override { ++*counter; }
  void mixing_forward(int K, int layers, int d, const float* weights, const float* z, int64_t n,
                      float* x) override;
  ProbeResult probe(const float* features, int64_t n, int p, const float* targets, int q,
                    double split, double scale) override;
};

}  // namespace xent
