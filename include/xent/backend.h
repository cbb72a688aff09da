// The op set every execution path implements. The trainer, evaluator and CLI are written once
// against this interface; CpuBackend is the reference, CudaBackend (later) launches kernels.
//
// Population: every op carries a leading model dimension K. A tensor of shape [rows][cols]
// per replica is stored as [K][rows][cols], replica after replica, so that K independent
// models of one shape train in the same calls. Pointers are backend memory (host memory for
// the CPU backend, device memory for CUDA); nothing here implies a synchronisation.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "xent/dgp.h"
#include "xent/metrics.h"
#include "xent/op_shapes.h"

namespace xent {

// A training step as recorded by Backend::record_step; run() runs it once more.
class StepRecording {
 public:
  virtual ~StepRecording() = default;
  virtual void run() = 0;
};

// The op set, declared once here for every backend: X(return type, name, (parameters),
// (arguments)). Backend declares each pure virtual, each backend class declares it with
// XENT_OVERRIDE_OPS and defines it in its own files. XENT_TWIN_OPS are the ops whose CPU
// backend is exactly the CPU twin of the kernel, cpu::<name> (host/cpu/<op>.cpp), declared by
// the same list; the CPU backend implements XENT_OWN_OPS itself.
//
// linear_forward: y = x W^T + b. x [K][rows][in], W [K][out][in], b [K][out] or null,
//   y [K][rows][out].
// linear_backward: dx = dy W (skipped when dx is null), dW = dy^T x, db = column sums of dy
//   (skipped when null).
// batchnorm_act_forward_train: a = LeakyReLU(gamma * (h - mean) * rstd + beta) with batch
//   statistics; saves mean and rstd [K][width] for the backward pass and updates the running
//   statistics (running variance uses the unbiased batch variance, as PyTorch does). With a
//   bias [K][width] (else null), h is read as h + bias, one float addition per element: the
//   linear layer's bias, folded into this op's reads so that no pass of its own adds it.
// batchnorm_act_forward_eval: the same with the running statistics.
// batchnorm_act_backward: gradients of the training-mode forward (h + bias as above): dh from
//   da; dgamma and dbeta [K][width]; dbias [K][width] (may be null), the bias's gradient: the
//   column sums of dh in double, as linear_backward sums db.
// normalize_rows_forward: y = x / ||x|| per row ([K * rows][width]); norms [K * rows] saved
//   (may be null). y may alias x. normalize_rows_backward: its gradient.
// softmax_xent: mean softmax cross-entropy per replica, loss [K]. When grad is true the logits
//   are overwritten by d(loss)/d(logits) = (softmax - onehot) / rows. correct [K] (may be null)
//   receives the number of rows whose arg-max is the label (as a float).
// logistic_loss: the weighted binary cross-entropy of F logistic fits on the same rows.
//   logits [rows][F] (x W^T + b, linear_forward's output for the F fits) become the gradient
//   w (sigmoid(z) - y); labels (0 or 1) and weights (>= 0; 0 leaves a row out of a fit) are
//   [rows][F]; loss [F] (double) receives sum over rows of w (log(1 + e^z) - y z). The sums run
//   in blocks of kLogisticBlock rows, each in runs of 32 rows summed in double, the runs and
//   then the blocks added in order: one order for every backend and thread count.
// multinomial_loss: the weighted softmax cross-entropy of F fits of C classes on the same rows.
//   logits [rows][F][C] (linear_forward's output for the F * C weight rows, fit-major) become
//   the gradient w (softmax(z) - onehot(y)); labels [rows][F] are class indices 0 .. C-1 held
//   as floats (exact below 2^24; every row needs one, weight 0 or not), weights [rows][F]
//   (>= 0); loss [F] (double) receives sum over rows of w (logsumexp(z) - z_y). The same
//   order of sums as logistic_loss: one float term per row and fit, blocks of kLogisticBlock
//   rows in runs of 32, in double, in order.
// render_sprites: dSprites images (include/xent/dsprites.h) from the sprite masks
//   [kSprites][kCanvas][kCanvas] (bytes 0/1): images [n][kPixels] row r is image number
//   index[first + r], with first = (*batches_done % period) * n, or 0 when batches_done is
//   null; labels [n] (may be null) its shape. A population renders K * n rows from an index
//   list laid out to match.
// render_shapes3d: 3D Shapes images (include/xent/shapes3d.h) from the views buffer
//   (render_views(): kViewsBytes, 16-byte aligned): images [n][kValues] (channel-major) row r
//   is image number index[first + r], first as for render_sprites; labels [n] (may be null)
//   its shape.
// adam: one Adam step (PyTorch semantics, no weight decay) over n parameters. When `step`
//   (backend memory) is given, the bias corrections use *step instead of a.step.
// sample_latents: the DGP for K replicas: params[k], seeds[k], centres [K][clusters][d] (all
//   replicas share the shape). Sample j is drawn from stream first + j, plus *batches_done * n
//   when batches_done (backend memory) is given. z [K][n][d], labels [K][n], cluster [K][n]
//   (may be null).
// mixing_forward: x = g(z) per replica; weights [K][layers][d][d].
// increment: ++*counter, in stream order (a counter in backend memory that recorded steps read).
// probe: the linear probe of one replica's features [n][p] against targets [n][q].
#define XENT_TWIN_OPS(X)                                                                           \
  X(void, linear_forward,                                                                          \
    (const LinearShape& s, const float* x, const float* w, const float* b, float* y),              \
    (s, x, w, b, y))                                                                               \
  X(void, linear_backward,                                                                         \
    (const LinearShape& s, const float* x, const float* w, const float* dy, float* dx, float* dw,  \
     float* db),                                                                                   \
    (s, x, w, dy, dx, dw, db))                                                                     \
  X(void, batchnorm_act_forward_train,                                                             \
    (const BatchNormShape& s, const float* h, const float* bias, const float* gamma,               \
     const float* beta, float* a, float* mean, float* rstd, float* running_mean,                   \
     float* running_var),                                                                          \
    (s, h, bias, gamma, beta, a, mean, rstd, running_mean, running_var))                           \
  X(void, batchnorm_act_forward_eval,                                                              \
    (const BatchNormShape& s, const float* h, const float* bias, const float* gamma,               \
     const float* beta, const float* running_mean, const float* running_var, float* a),            \
    (s, h, bias, gamma, beta, running_mean, running_var, a))                                       \
  X(void, batchnorm_act_backward,                                                                  \
    (const BatchNormShape& s, const float* h, const float* bias, const float* a,                   \
     const float* gamma, const float* mean, const float* rstd, const float* da, float* dh,         \
     float* dbias, float* dgamma, float* dbeta),                                                   \
    (s, h, bias, a, gamma, mean, rstd, da, dh, dbias, dgamma, dbeta))                              \
  X(void, normalize_rows_forward,                                                                  \
    (int64_t rows, int width, const float* x, float* y, float* norms), (rows, width, x, y, norms)) \
  X(void, normalize_rows_backward,                                                                 \
    (int64_t rows, int width, const float* y, const float* norms, const float* dy, float* dx),     \
    (rows, width, y, norms, dy, dx))                                                               \
  X(void, softmax_xent,                                                                            \
    (const XentShape& s, float* logits, const int32_t* labels, float* loss, float* correct,        \
     bool grad),                                                                                   \
    (s, logits, labels, loss, correct, grad))                                                      \
  X(void, logistic_loss,                                                                           \
    (const LogisticShape& s, float* logits, const float* labels, const float* weights,             \
     double* loss),                                                                                \
    (s, logits, labels, weights, loss))                                                            \
  X(void, multinomial_loss,                                                                        \
    (const MultinomialShape& s, float* logits, const float* labels, const float* weights,          \
     double* loss),                                                                                \
    (s, logits, labels, weights, loss))                                                            \
  X(void, render_sprites,                                                                          \
    (const uint8_t* masks, const int32_t* index, const int64_t* batches_done, int64_t period,      \
     int64_t n, float* images, int32_t* labels),                                                   \
    (masks, index, batches_done, period, n, images, labels))                                       \
  X(void, render_shapes3d,                                                                         \
    (const uint8_t* views, const int32_t* index, const int64_t* batches_done, int64_t period,      \
     int64_t n, float* images, int32_t* labels),                                                   \
    (views, index, batches_done, period, n, images, labels))                                       \
  X(void, adam,                                                                                    \
    (int64_t n, float* param, const float* grad, float* m, float* v, const AdamParams& a,          \
     const int64_t* step),                                                                         \
    (n, param, grad, m, v, a, step))

#define XENT_OWN_OPS(X)                                                                     \
  X(void, sample_latents,                                                                   \
    (const std::vector<DgpParams>& params, const std::vector<uint64_t>& seeds,              \
     const float* centres, RngPurpose purpose, uint64_t first, const int64_t* batches_done, \
     int64_t n, float* z, int32_t* labels, int32_t* cluster),                               \
    (params, seeds, centres, purpose, first, batches_done, n, z, labels, cluster))          \
  X(void, mixing_forward,                                                                   \
    (int K, int layers, int d, const float* weights, const float* z, int64_t n, float* x),  \
    (K, layers, d, weights, z, n, x))                                                       \
  X(void, increment, (int64_t * counter), (counter))                                        \
  X(ProbeResult, probe,                                                                     \
    (const float* features, int64_t n, int p, const float* targets, int q, double split,    \
     double scale),                                                                         \
    (features, n, p, targets, q, split, scale))

#define XENT_PURE_VIRTUAL_OP(R, NAME, PARAMS, ARGS) virtual R NAME PARAMS = 0;
#define XENT_OVERRIDE_OP(R, NAME, PARAMS, ARGS) R NAME PARAMS override;
// In a backend class: the declarations of every op.
#define XENT_OVERRIDE_OPS XENT_TWIN_OPS(XENT_OVERRIDE_OP) XENT_OWN_OPS(XENT_OVERRIDE_OP)

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // Memory. Fresh allocations hold unspecified values.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p) = 0;
  virtual void upload(void* dst, const void* src, size_t bytes) = 0;
  virtual void download(void* dst, const void* src, size_t bytes) = 0;
  virtual void zero(void* dst, size_t bytes) = 0;
  // Copy within backend memory.
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // Returns once every op issued so far has finished, so that a host clock read after it
  // times them (the CPU's ops have finished when they return).
  virtual void synchronize() {}

  XENT_TWIN_OPS(XENT_PURE_VIRTUAL_OP)
  XENT_OWN_OPS(XENT_PURE_VIRTUAL_OP)

  // How many replicas of a population of K a trainer takes through the forward and backward
  // passes at a time (replicas are independent: any grouping gives the same bits). By default
  // all of them in every call, as the GPU wants; the CPU backend takes fewer, so that a layer's
  // activations stay in cache from one op to the next.
  virtual int replica_group(int K) const { return K; }

  // A recording of one training step: the backend calls made by `record`, which the caller
  // runs once per step. A backend may record them once and replay the recording (the CUDA
  // backend captures a graph), so `record` must issue the same calls with the same arguments
  // every time; values that change from step to step reach the ops through backend memory (the
  // counters above). The recording belongs to the caller and ends with it: no other owner's
  // buffers are ever replayed.
  virtual std::unique_ptr<StepRecording> record_step(std::function<void()> record);
};

struct BackendOptions {
  // "cpu" (the reference) or, when built with CUDA and a GPU is present, "cuda"; "auto" picks
  // cuda when available.
  std::string device = "auto";
  // The GPU to use; -1: GPU rank mod count for MPI rank `rank` (0 without MPI).
  int device_index = -1;
  int rank = 0;
  bool tf32 = false;   // TF32 tensor cores in the CUDA backend's GEMMs (train.tf32); CPU: FP32
  bool graphs = true;  // CUDA: replay recorded steps as graphs (false: launch every op)
  // CPU: the threads its ops split over; 0: every core this process may use. The results are
  // the same for any count.
  int threads = 0;
};

// The one way a front end gets a backend. Throws InputError for an unknown or unavailable
// device.
std::unique_ptr<Backend> make_backend(const BackendOptions& o);

// Typed, owning backend memory.
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(Backend& b, size_t n) : b_(&b), n_(n) {
    p_ = static_cast<T*>(n ? b.allocate(n * sizeof(T)) : nullptr);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept { swap(o); }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    swap(o);
    return *this;
  }
  ~DeviceArray() {
    if (p_) b_->release(p_);
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  void upload(const std::vector<T>& h) { b_->upload(p_, h.data(), h.size() * sizeof(T)); }
  std::vector<T> download() const {
    std::vector<T> h(n_);
    b_->download(h.data(), p_, n_ * sizeof(T));
    return h;
  }

 private:
  void swap(DeviceArray& o) {
    std::swap(b_, o.b_);
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
  }
  Backend* b_ = nullptr;
  T* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace xent
