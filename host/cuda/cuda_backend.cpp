#include "cuda/cuda_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include "cpu/ops.h"
#include "dgp/internal.h"
#include "kernels/batchnorm.h"
#include "kernels/increment.h"
#include "kernels/linear.h"
#include "kernels/logistic_loss.h"
#include "kernels/mixing.h"
#include "kernels/multinomial_loss.h"
#include "kernels/normalize.h"
#include "kernels/probe.h"
#include "kernels/render_shapes3d.h"
#include "kernels/render_sprites.h"
#include "kernels/softmax_xent.h"
#include "xent/error.h"

namespace xent::cuda {
inline namespace XENT_KERNELS_ABI {
namespace {

std::string mib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

// Every field (not memcmp: the struct has padding). A new field must join the comparison, which
// the size check is there to remind of.
bool same(const kernels::LatentReplica& a, const kernels::LatentReplica& b) {
  static_assert(sizeof(kernels::LatentReplica) == 88, "compare the new field of LatentReplica");
  return a.seed == b.seed && a.label_range == b.label_range && a.diet == b.diet &&
         a.conditional == b.conditional && a.noise_scale == b.noise_scale && a.beta == b.beta &&
         a.kappa == b.kappa && a.dm1 == b.dm1 && a.b == b.b && a.x0 == b.x0 && a.c == b.c &&
         a.a == b.a;
}

// Scratch slots, one per use, so that no two live uses share memory.
enum Slot : size_t { kSoftmaxRows, kProbe, kLogisticBlocks, kSlots };

}  // namespace

kernels::LatentReplica latent_replica(const DgpParams& p, uint64_t seed) {
  dgp::check_sampling(p);
  const dgp::Wood wood = dgp::wood(p.d, p.kappa);
  kernels::LatentReplica r{};
  r.seed = seed;
  r.diet = p.labels == LabelMode::Diet;
  r.label_range = static_cast<uint32_t>(r.diet ? p.instances : p.clusters);
  r.conditional = p.conditional;
  r.noise_scale = p.kappa / 10.0;
  r.beta = p.beta;
  r.kappa = wood.kappa;
  r.dm1 = wood.dm1;
  r.b = wood.b;
  r.x0 = wood.x0;
  r.c = wood.c;
  r.a = wood.a;
  return r;
}

std::string missing_device() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear it: nothing else failed
    return std::string("no usable CUDA device (") + cudaGetErrorString(e) + ")";
  }
  if (count == 0) return "no CUDA device";
  return "";
}

CudaBackend::CudaBackend(const CudaOptions& options) : options_(options) {
  if (const std::string why = missing_device(); !why.empty()) throw DeviceError(why);
  XENT_CUDA_CHECK(cudaSetDevice(options_.device));
  XENT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  try {
    blas_ = make_blas(stream_, options_.tf32);
  } catch (...) {
    cudaStreamDestroy(stream_);  // no destructor runs for a constructor that throws
    throw;
  }
  scratch_.assign(kSlots, {nullptr, 0});
  // Once: callers ask for the name often (every DgpSource batch), and the device stays.
#if defined(XENT_EMULATED)
  name_ = "cuda (SIMT emulator, " + blas_->name() + ")";
#else
  cudaDeviceProp prop{};
  name_ = cudaGetDeviceProperties(&prop, options_.device) == cudaSuccess
              ? std::string("cuda (") + prop.name + (options_.tf32 ? ", TF32" : ", FP32") + ")"
              : std::string("cuda");
#endif
}

CudaBackend::~CudaBackend() {
  // Destructors do not throw: errors here would only hide the one that unwound the stack.
  cudaStreamSynchronize(stream_);
  for (auto& [p, bytes] : scratch_) cudaFree(p);
  cudaFree(replicas_device_);
  for (const DeviceAdamTable& t : adam_tables_) cudaFree(const_cast<AdamCorrection*>(t.c.table));
  blas_.reset();
  cudaStreamDestroy(stream_);
}

std::string CudaBackend::name() const { return name_; }

void* CudaBackend::allocate(size_t bytes) {
  void* p = nullptr;
  const cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free = 0, total = 0;
    cudaMemGetInfo(&free, &total);
    throw DeviceError("out of device memory: asked for " + mib(bytes) + ", " + mib(free) +
                      " free of " + mib(total) +
                      " (reduce train.population, train.batch or the eval size)");
  }
  XENT_CUDA_CHECK(e);
  return p;
}

void CudaBackend::release(void* p) { cudaFree(p); }

void CudaBackend::upload(void* dst, const void* src, size_t bytes) {
  XENT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_));
  // The caller may reuse src at once: a pageable copy is staged before the call returns, but
  // waiting makes that independent of how the host memory was allocated.
  XENT_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::download(void* dst, const void* src, size_t bytes) {
  XENT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
  XENT_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::synchronize() { XENT_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void CudaBackend::zero(void* dst, size_t bytes) {
  XENT_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream_));
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  XENT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void* CudaBackend::scratch(size_t slot, size_t bytes) {
  auto& [p, size] = scratch_[slot];
  if (bytes > size) {
    ++graph_epoch_;  // a recorded graph may hold the old pointer
    if (p) {
      XENT_CUDA_CHECK(cudaStreamSynchronize(stream_));  // earlier work may still use it
      cudaFree(p);
      p = nullptr;
    }
    p = allocate(bytes);
    size = bytes;
  }
  return p;
}

// Row-major y [rows][out] = x [rows][in] W^T is, column-major, y^T = W^T x^T with W^T read from
// W's row-major storage: C (out x rows) = op_T(A = W, in x out) * B (x^T, in x rows).
void CudaBackend::linear_forward(const LinearShape& s, const float* x, const float* w,
                                 const float* b, float* y) {
  Gemm g;
  g.trans_a = true;
  g.m = s.out;
  g.n = static_cast<int>(s.rows);
  g.k = s.in;
  g.a = w;
  g.lda = s.in;
  g.stride_a = int64_t{s.out} * s.in;
  g.b = x;
  g.ldb = s.in;
  g.stride_b = s.rows * s.in;
  g.c = y;
  g.ldc = s.out;
  g.stride_c = s.rows * s.out;
  g.batch = s.K;
  blas_->gemm(g);
  if (b) kernels::linear_add_bias(s, b, y, stream_);
}

void CudaBackend::linear_backward(const LinearShape& s, const float* x, const float* w,
                                  const float* dy, float* dx, float* dw, float* db) {
  if (dx) {
    // dx [rows][in] = dy [rows][out] W [out][in]; column-major dx^T = W^T dy^T.
    Gemm g;
    g.m = s.in;
    g.n = static_cast<int>(s.rows);
    g.k = s.out;
    g.a = w;
    g.lda = s.in;
    g.stride_a = int64_t{s.out} * s.in;
    g.b = dy;
    g.ldb = s.out;
    g.stride_b = s.rows * s.out;
    g.c = dx;
    g.ldc = s.in;
    g.stride_c = s.rows * s.in;
    g.batch = s.K;
    blas_->gemm(g);
  }
  // dW [out][in] = dy^T x; column-major dW^T (in x out) = x^T (in x rows) * dy (rows x out).
  Gemm g;
  g.trans_b = true;
  g.m = s.in;
  g.n = s.out;
  g.k = static_cast<int>(s.rows);
  g.a = x;
  g.lda = s.in;
  g.stride_a = s.rows * s.in;
  g.b = dy;
  g.ldb = s.out;
  g.stride_b = s.rows * s.out;
  g.c = dw;
  g.ldc = s.in;
  g.stride_c = int64_t{s.out} * s.in;
  g.batch = s.K;
  blas_->gemm(g);
  if (db) kernels::linear_bias_grad(s, dy, db, stream_);
}

void CudaBackend::batchnorm_act_forward_train(const BatchNormShape& s, const float* h,
                                              const float* bias, const float* gamma,
                                              const float* beta, float* a, float* mean, float* rstd,
                                              float* running_mean, float* running_var) {
  kernels::batchnorm_act_forward_train(s, h, bias, gamma, beta, a, mean, rstd, running_mean,
                                       running_var, stream_);
}

void CudaBackend::batchnorm_act_forward_eval(const BatchNormShape& s, const float* h,
                                             const float* bias, const float* gamma,
                                             const float* beta, const float* running_mean,
                                             const float* running_var, float* a) {
  kernels::batchnorm_act_forward_eval(s, h, bias, gamma, beta, running_mean, running_var, a,
                                      stream_);
}

void CudaBackend::batchnorm_act_backward(const BatchNormShape& s, const float* h, const float* bias,
                                         const float* a, const float* gamma, const float* mean,
                                         const float* rstd, const float* da, float* dh,
                                         float* dbias, float* dgamma, float* dbeta) {
  kernels::batchnorm_act_backward(s, h, bias, a, gamma, mean, rstd, da, dh, dbias, dgamma, dbeta,
                                  stream_);
}

void CudaBackend::normalize_rows_forward(int64_t rows, int width, const float* x, float* y,
                                         float* norms) {
  kernels::normalize_rows_forward(rows, width, x, y, norms, stream_);
}

void CudaBackend::normalize_rows_backward(int64_t rows, int width, const float* y,
                                          const float* norms, const float* dy, float* dx) {
  kernels::normalize_rows_backward(rows, width, y, norms, dy, dx, stream_);
}

void CudaBackend::logistic_loss(const LogisticShape& s, float* logits, const float* labels,
                                const float* weights, double* loss) {
  const auto blocks = static_cast<size_t>((s.rows + kLogisticBlock - 1) / kLogisticBlock);
  auto* table = static_cast<double*>(scratch(
      kLogisticBlocks, std::max<size_t>(1, blocks * static_cast<size_t>(s.fits)) * sizeof(double)));
  kernels::logistic_loss(s, logits, labels, weights, table, loss, stream_);
}

void CudaBackend::multinomial_loss(const MultinomialShape& s, float* logits, const float* labels,
                                   const float* weights, double* loss) {
  const auto blocks = static_cast<size_t>((s.rows + kLogisticBlock - 1) / kLogisticBlock);
  auto* table = static_cast<double*>(scratch(
      kLogisticBlocks, std::max<size_t>(1, blocks * static_cast<size_t>(s.fits)) * sizeof(double)));
  kernels::multinomial_loss(s, logits, labels, weights, table, loss, stream_);
}

void CudaBackend::softmax_xent(const XentShape& s, float* logits, const int32_t* labels,
                               float* loss, float* correct, bool grad) {
  auto* per_row = static_cast<float*>(
      scratch(kSoftmaxRows, 3 * static_cast<size_t>(s.K * s.rows) * sizeof(float)));
  kernels::softmax_xent(s, logits, labels, per_row, loss, correct, grad, stream_);
}

AdamTable adam_table(const AdamParams& a, int64_t max_steps) {
  AdamTable t;
  for (int64_t step = 1; step <= max_steps; ++step) {
    t.steps.push_back(cpu::adam_correction(a, step));
    // beta^t at most 2^-26, half of what 1 - beta^t == 1 needs, so that powf's last-bit errors
    // cannot bring a later step back under 1.
    const auto ft = static_cast<float>(step);
    constexpr float kTiny = 0x1p-26f;
    if (std::pow(a.beta1, ft) <= kTiny && std::pow(a.beta2, ft) <= kTiny &&
        t.steps.back().step_size == a.lr && t.steps.back().bc2_sqrt == 1.0f) {
      t.saturated = true;
      break;
    }
  }
  return t;
}

kernels::AdamCorrections CudaBackend::adam_corrections(const AdamParams& a, const int64_t* step) {
  kernels::AdamCorrections c;
  if (!step) {
    c.now = cpu::adam_correction(a, a.step);
    return c;
  }
  for (const DeviceAdamTable& t : adam_tables_) {
    if (t.lr == a.lr && t.beta1 == a.beta1 && t.beta2 == a.beta2) {
      c = t.c;
      c.step = step;
      return c;
    }
  }
  // Once per optimizer setting (the first, eager run of a recorded step): never inside a step.
  const AdamTable host = adam_table(a);
  const size_t bytes = host.steps.size() * sizeof(AdamCorrection);
  auto* table = static_cast<AdamCorrection*>(allocate(bytes));
  try {
    upload(table, host.steps.data(), bytes);
  } catch (...) {
    cudaFree(table);
    throw;
  }
  c.table = table;
  c.steps = static_cast<int64_t>(host.steps.size());
  c.saturated = host.saturated;
  adam_tables_.push_back({a.lr, a.beta1, a.beta2, c});
  c.step = step;
  return c;
}

void CudaBackend::adam(int64_t n, float* param, const float* grad, float* m, float* v,
                       const AdamParams& a, const int64_t* step) {
  kernels::adam(n, param, grad, m, v, a, adam_corrections(a, step), stream_);
}

void CudaBackend::render_sprites(const uint8_t* masks, const int32_t* index,
                                 const int64_t* batches_done, int64_t period, int64_t n,
                                 float* images, int32_t* labels) {
  kernels::render_sprites(masks, index, batches_done, period, n, images, labels, stream_);
}

void CudaBackend::render_shapes3d(const uint8_t* views, const int32_t* index,
                                  const int64_t* batches_done, int64_t period, int64_t n,
                                  float* images, int32_t* labels) {
  kernels::render_shapes3d(views, index, batches_done, period, n, images, labels, stream_);
}

void CudaBackend::increment(int64_t* counter) { kernels::increment(counter, stream_); }

namespace {

CudaBackend::GraphCounts count_nodes(cudaGraph_t graph) {
  size_t n = 0;
  XENT_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &n));
  std::vector<cudaGraphNode_t> nodes(n);
  XENT_CUDA_CHECK(cudaGraphGetNodes(graph, nodes.data(), &n));
  CudaBackend::GraphCounts c;
  c.nodes = n;
  for (const cudaGraphNode_t node : nodes) {
    cudaGraphNodeType type{};
    XENT_CUDA_CHECK(cudaGraphNodeGetType(node, &type));
    c.kernels += type == cudaGraphNodeTypeKernel;
  }
  return c;
}

// One owner's training step on the GPU: eager, then captured, then replayed.
class GraphStep final : public StepRecording {
 public:
  GraphStep(CudaBackend& b, std::function<void()> record) : b_(b), record_(std::move(record)) {}
  GraphStep(const GraphStep&) = delete;
  GraphStep& operator=(const GraphStep&) = delete;
  ~GraphStep() override { drop(); }

  void run() override {
    // Another owner changed what the step reads (the DGP table) since this one last ran: run
    // eagerly again, since the step itself may have to upload it, which a capture cannot do.
    if (runs_ > 0 && epoch_ != b_.graph_epoch()) drop();
    if (runs_ == 0 || !b_.options().graphs) {
      // Eager; the first run also sizes the scratch buffers, which a capture may not allocate.
      record_();
      epoch_ = b_.graph_epoch();
      ++runs_;
      return;
    }
    if (!exec_) {
      const cudaStream_t s = b_.stream();
      XENT_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
      try {
        record_();
      } catch (...) {
        cudaGraph_t broken = nullptr;
        cudaStreamEndCapture(s, &broken);
        if (broken) cudaGraphDestroy(broken);
        throw;
      }
      XENT_CUDA_CHECK(cudaStreamEndCapture(s, &graph_));
      XENT_CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
      b_.set_step_graph(count_nodes(graph_));
      epoch_ = b_.graph_epoch();
    }
    ++runs_;
    XENT_CUDA_CHECK(cudaGraphLaunch(exec_, b_.stream()));
  }

 private:
  void drop() {
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
    exec_ = nullptr;
    graph_ = nullptr;
    runs_ = 0;
  }

  CudaBackend& b_;
  std::function<void()> record_;
  int64_t runs_ = 0;  // since the graph was last dropped
  uint64_t epoch_ = 0;
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace

std::unique_ptr<StepRecording> CudaBackend::record_step(std::function<void()> record) {
  return std::make_unique<GraphStep>(*this, std::move(record));
}

const kernels::LatentReplica* CudaBackend::replicas(const std::vector<DgpParams>& params,
                                                    const std::vector<uint64_t>& seeds) {
  std::vector<kernels::LatentReplica> want;
  want.reserve(params.size());
  for (size_t k = 0; k < params.size(); ++k) want.push_back(latent_replica(params[k], seeds[k]));
  const bool unchanged = want.size() == replicas_host_.size() &&
                         std::equal(want.begin(), want.end(), replicas_host_.begin(), same);
  if (!unchanged) {
    // Only when the population's DGP changes (once per trainer): never inside a step.
    const size_t bytes = want.size() * sizeof(kernels::LatentReplica);
    ++graph_epoch_;  // a recorded graph holds the old parameters' pointer (and values)
    if (bytes > replicas_capacity_) {
      XENT_CUDA_CHECK(cudaStreamSynchronize(stream_));
      cudaFree(replicas_device_);
      replicas_device_ = allocate(bytes);
      replicas_capacity_ = bytes;
    }
    upload(replicas_device_, want.data(), bytes);
    replicas_host_ = std::move(want);
  }
  return static_cast<const kernels::LatentReplica*>(replicas_device_);
}

void CudaBackend::sample_latents(const std::vector<DgpParams>& params,
                                 const std::vector<uint64_t>& seeds, const float* centres,
                                 RngPurpose purpose, uint64_t first, const int64_t* batches_done,
                                 int64_t n, float* z, int32_t* labels, int32_t* cluster) {
  if (params.empty()) return;
  const DgpParams& p = params[0];
  // One launch covers the population: its grid and the centres' layout assume one shape.
  for (const DgpParams& q : params)
    if (q.d != p.d || q.clusters != p.clusters)
      throw std::invalid_argument(
          "CudaBackend::sample_latents: the replicas differ in d or clusters");
  kernels::sample_latents(static_cast<int>(params.size()), p.d, p.clusters, replicas(params, seeds),
                          centres, purpose, first, batches_done, n, z, labels, cluster, stream_);
}

void CudaBackend::mixing_forward(int K, int layers, int d, const float* weights, const float* z,
                                 int64_t n, float* x) {
  kernels::mixing_forward(K, layers, d, weights, z, n, x, stream_);
}

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::cuda
