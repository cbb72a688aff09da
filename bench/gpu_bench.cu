// xent_gpu_bench: what the CUDA kernels, the backend's layer and whole training steps achieve on
// the GPU, as a table and (--json FILE) as JSON for scripts.
//
// Every timing is CUDA events around the work on one stream: warm-up runs first, then each
// repeat starts from a cold L2 (a 256 MiB memset, more than the H200's 60 MB L2, between
// repeats, outside the timed region); the median repeat is reported. Rates are against the
// H200's peaks (docs/paper.md, The target GPU): HBM3e 4.8 TB/s, dense FP32 67 TFLOP/s. Bytes are
// the least an op must move (each input read once, each output written once), so GB/s is an
// effective bandwidth that two implementations of one op share.
//
// Sections: the kernels one by one; the fused softmax cross-entropy against an unfused
// softmax-then-CE pair (written below); the linear layer's products through cuBLAS, as the
// backend runs them, against the tiled SGEMM of bench/tiled_sgemm.cu; an encoder layer as the
// backend runs it (cuBLAS GEMM, bias, fused BatchNorm + LeakyReLU) against plain cuBLAS with
// separate bias, BatchNorm and activation kernels; whole training steps of the base presets
// replayed as a CUDA graph against launched op by op.
//
// --quick runs every section at small shapes (K <= 2, at most 64 rows), timed once without the
// L2 flush: only to run the code. CI runs it so on the SIMT emulator (xent_gpu_bench_emulated,
// the same source compiled by g++), so that the one GPU run does not meet its host code first.
#include "kernels/compat.cuh"
//

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/tiled_sgemm.h"
#include "cuda/blas.h"
#include "cuda/cuda_backend.h"
#include "cuda/export_pool.h"
#include "kernels/adam.h"
#include "kernels/batchnorm.h"
#include "kernels/logistic_loss.h"
#include "kernels/mixing.h"
#include "kernels/multinomial_loss.h"
#include "kernels/render_shapes3d.h"
#include "kernels/render_sprites.h"
#include "kernels/sample_latents.h"
#include "kernels/softmax_xent.h"
#include "xent/config.h"
#include "xent/dsprites.h"
#include "xent/error.h"
#include "xent/shapes3d.h"
#include "xent/trainer.h"

namespace {

constexpr double kPeakBytesPerS = 4.8e12;  // H200 HBM3e
constexpr double kPeakFlopsPerS = 67e12;   // H200 dense FP32 (no tensor cores)
constexpr size_t kFlushBytes = size_t{256} << 20;
constexpr int kWarmup = 3;
constexpr int kRepeats = 15;

#define CHECK(call) ::xent::cuda::check((call), #call)

// The shapes the sections measure: the paper's, or with --quick small ones (see the top).
struct Scale {
  bool quick = false;
  int K(int k) const { return quick ? std::min(k, 2) : k; }
  int64_t rows(int64_t r) const { return quick ? std::min<int64_t>(r, 64) : r; }
  int64_t classes(int64_t c) const { return quick ? std::min<int64_t>(c, 2000) : c; }
  int warmup() const { return quick ? 0 : kWarmup; }
  int repeats(int r) const { return quick ? 1 : r; }
  size_t flush_bytes() const { return quick ? 0 : kFlushBytes; }
};

struct Row {
  std::string section, name, shape;
  double ms = 0;     // median time per call
  double bytes = 0;  // least bytes moved per call (0: not a memory-bound measure)
  double flops = 0;  // floating-point operations per call (0: not counted)
  double items = 0;  // rows, samples or steps per call, for items_per_s
  std::string item;  // what an item is
};

class Timer {
 public:
  Timer(cudaStream_t s, const Scale& scale) : s_(s), scale_(scale) {
    CHECK(cudaEventCreate(&start_));
    CHECK(cudaEventCreate(&stop_));
    if (scale_.flush_bytes() > 0) CHECK(cudaMalloc(&flush_, scale_.flush_bytes()));
  }
  ~Timer() {
    cudaFree(flush_);
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // Median milliseconds of one call of f (enqueued on the stream), each from a cold L2.
  double time(const std::function<void()>& f, int repeats = kRepeats) {
    for (int i = 0; i < scale_.warmup(); ++i) f();
    std::vector<float> ms;
    for (int r = 0; r < scale_.repeats(repeats); ++r) {
      if (flush_) CHECK(cudaMemsetAsync(flush_, r & 0xff, scale_.flush_bytes(), s_));
      CHECK(cudaEventRecord(start_, s_));
      f();
      CHECK(cudaEventRecord(stop_, s_));
      CHECK(cudaEventSynchronize(stop_));
      float t = 0;
      CHECK(cudaEventElapsedTime(&t, start_, stop_));
      ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }

 private:
  cudaStream_t s_;
  Scale scale_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
  void* flush_ = nullptr;
};

// Host to device on the stream the benchmarks compute on: the backend's stream does not
// synchronise with the default stream, so a cudaMemcpy there would not be ordered before the
// kernels that read its data. The wait lets the caller free src at once; no upload is timed.
void upload(cudaStream_t s, void* dst, const void* src, size_t bytes) {
  CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
  CHECK(cudaStreamSynchronize(s));
}

// Device memory filled with uniform values in [lo, hi) (uploaded on stream s); freed with the
// object.
class Buffer {
 public:
  Buffer(cudaStream_t s, size_t n, float lo = -1.0f, float hi = 1.0f) {
    CHECK(cudaMalloc(&p_, n * sizeof(float)));
    std::mt19937 gen(static_cast<unsigned>(n));
    std::uniform_real_distribution<float> u(lo, hi);
    std::vector<float> h(n);
    for (float& v : h) v = u(gen);
    upload(s, p_, h.data(), n * sizeof(float));
  }
  ~Buffer() { cudaFree(p_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* get() const { return static_cast<float*>(p_); }
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  void* p_ = nullptr;
};

std::string dims(std::initializer_list<long long> v) {
  std::string s;
  for (long long x : v) s += (s.empty() ? "" : "x") + std::to_string(x);
  return s;
}

// ---- The unfused baselines: what a framework without fusion launches. ----

constexpr int kThreads = 256;

__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? shared[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();
  return v;
}

__device__ float block_max(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? shared[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();
  return v;
}

// Softmax of each row (a block per row) into probs.
__global__ void softmax_rows(const float* logits, float* probs, int64_t classes) {
  __shared__ float shared[32];
  const float* in = logits + blockIdx.x * classes;
  float* out = probs + blockIdx.x * classes;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) mx = fmaxf(mx, in[j]);
  mx = block_max(mx, shared);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) sum += __expf(in[j] - mx);
  sum = block_sum(sum, shared);
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x) out[j] = __expf(in[j] - mx) / sum;
}

// Cross-entropy from the probabilities: the row's loss, and the gradient over the probs.
__global__ void xent_from_probs(float* probs, const int32_t* labels, float* row_loss,
                                int64_t classes, float inv_rows) {
  float* p = probs + blockIdx.x * classes;
  const int32_t y = labels[blockIdx.x];
  if (threadIdx.x == 0) row_loss[blockIdx.x] = -logf(p[y]);
  __syncthreads();  // the label's probability is read before it becomes a gradient
  for (int64_t j = threadIdx.x; j < classes; j += blockDim.x)
    p[j] = (p[j] - (j == y ? 1.0f : 0.0f)) * inv_rows;
}

// y [K][rows][out] += b [K][out], one thread per element.
__global__ void add_bias(float* y, const float* b, int64_t n, int64_t rows, int out) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i < n) y[i] += b[i / (rows * out) * out + i % out];
}

// Batch mean and biased variance per column, one thread per column over all rows.
__global__ void column_stats(const float* h, int64_t rows, int width, float* mean, float* var) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= width) return;
  float s = 0.0f;
  for (int64_t r = 0; r < rows; ++r) s += h[r * width + c];
  const float m = s / static_cast<float>(rows);
  float q = 0.0f;
  for (int64_t r = 0; r < rows; ++r) {
    const float v = h[r * width + c] - m;
    q += v * v;
  }
  mean[c] = m;
  var[c] = q / static_cast<float>(rows);
}

// Per replica's statistics and affine parameters [K][width], one thread per element.
__global__ void normalize_affine(const float* h, const float* mean, const float* var,
                                 const float* gamma, const float* beta, float* out, int64_t n,
                                 int64_t rows, int width, float eps) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i >= n) return;
  const int64_t c = i / (rows * width) * width + i % width;
  out[i] = (h[i] - mean[c]) * rsqrtf(var[c] + eps) * gamma[c] + beta[c];
}

__global__ void leaky_relu(float* x, int64_t n, float slope) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i < n) x[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

unsigned blocks(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

// ---- Sections ----

struct Context {
  xent::cuda::CudaBackend& backend;
  cudaStream_t stream;
  Timer& timer;
  std::vector<Row>& rows;
  const Scale& scale;
};

void softmax_section(Context& c) {
  const int64_t shapes[][3] = {
      {1, 1024, 100}, {1, 1024, 1000}, {100, 1024, 1000}, {1, 1024, 100000}};
  for (const auto& sh : shapes) {
    const xent::XentShape s{c.scale.K(static_cast<int>(sh[0])), c.scale.rows(sh[1]),
                            c.scale.classes(sh[2])};
    const int64_t rows = s.K * s.rows, n = rows * s.classes;
    Buffer fresh(c.stream, static_cast<size_t>(n), -4.0f, 4.0f),
        logits(c.stream, static_cast<size_t>(n)), labels(c.stream, static_cast<size_t>(rows)),
        per_row(c.stream, static_cast<size_t>(3 * rows)), loss(c.stream, static_cast<size_t>(s.K)),
        correct(c.stream, static_cast<size_t>(s.K));
    std::vector<int32_t> hl(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) hl[r] = static_cast<int32_t>(r * 7919 % s.classes);
    upload(c.stream, labels.get(), hl.data(), hl.size() * 4);
    // The fused op overwrites the logits with the gradient, so each of its calls starts from a
    // copy, timed on its own and subtracted; the unfused pair reads the fresh logits directly.
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    auto copy = [&] {
      CHECK(cudaMemcpyAsync(logits.get(), fresh.get(), bytes, cudaMemcpyDeviceToDevice, c.stream));
    };
    const double copy_ms = c.timer.time(copy);
    const double fused = c.timer.time([&] {
      copy();
      xent::kernels::softmax_xent(s, logits.get(), labels.as<int32_t>(), per_row.get(), loss.get(),
                                  correct.get(), true, c.stream);
    });
    const double unfused = c.timer.time([&] {
      xent::launch(softmax_rows, static_cast<unsigned>(rows), kThreads, 0, c.stream)(
          fresh.get(), logits.get(), s.classes);
      xent::launch(xent_from_probs, static_cast<unsigned>(rows), kThreads, 0, c.stream)(
          logits.get(), labels.as<int32_t>(), per_row.get(), s.classes,
          1.0f / static_cast<float>(s.rows));
      CHECK(cudaGetLastError());
    });
    const std::string shape = dims({s.K, s.rows, s.classes});
    const double least = 2.0 * static_cast<double>(bytes) + 4.0 * static_cast<double>(rows);
    c.rows.push_back({"softmax_xent", "fused (kernels/softmax_xent.cu)", shape,
                      std::max(fused - copy_ms, 1e-6), least, 0, static_cast<double>(rows),
                      "rows"});
    c.rows.push_back({"softmax_xent", "unfused softmax + CE", shape, unfused, least, 0,
                      static_cast<double>(rows), "rows"});
  }
}

void linear_section(Context& c) {
  const int shapes[][3] = {{1, 250, 250}, {100, 250, 250}, {1, 5, 1000}, {100, 50, 250}};
  for (const auto& sh : shapes) {
    const xent::LinearShape s{c.scale.K(sh[0]), c.scale.rows(1024), sh[1], sh[2]};
    const size_t nx = static_cast<size_t>(s.K * s.rows * s.in), nw = size_t{1} * s.K * s.in * s.out,
                 ny = static_cast<size_t>(s.K * s.rows * s.out);
    Buffer x(c.stream, nx), w(c.stream, nw), b(c.stream, static_cast<size_t>(s.K * s.out)),
        y(c.stream, ny), dx(c.stream, nx), dw(c.stream, nw),
        db(c.stream, static_cast<size_t>(s.K * s.out));
    const double flops = 2.0 * static_cast<double>(s.K * s.rows) * s.in * s.out;
    const double bytes = 4.0 * static_cast<double>(nx + nw + ny);
    // backward reads x, W and dy and writes dx and dW
    const double back_bytes = 4.0 * static_cast<double>(2 * nx + 2 * nw + ny);
    const std::string shape = dims({s.K, s.rows, s.in, s.out});
    c.rows.push_back({"linear", "forward, bench's tiled SGEMM + bias", shape, c.timer.time([&] {
                        xent::bench::tiled_linear_forward(s, x.get(), w.get(), b.get(), y.get(),
                                                          c.stream);
                      }),
                      bytes, flops, 0, ""});
    c.rows.push_back({"linear", "forward, cuBLAS + bias kernel (backend)", shape, c.timer.time([&] {
                        c.backend.linear_forward(s, x.get(), w.get(), b.get(), y.get());
                      }),
                      bytes, flops, 0, ""});
    c.rows.push_back({"linear", "backward, bench's tiled SGEMM", shape, c.timer.time([&] {
                        xent::bench::tiled_linear_backward(s, x.get(), w.get(), y.get(), dx.get(),
                                                           dw.get(), db.get(), c.stream);
                      }),
                      back_bytes, 2 * flops, 0, ""});
    c.rows.push_back({"linear", "backward, cuBLAS (backend)", shape, c.timer.time([&] {
                        c.backend.linear_backward(s, x.get(), w.get(), y.get(), dx.get(), dw.get(),
                                                  db.get());
                      }),
                      back_bytes, 2 * flops, 0, ""});
  }
}

void elementwise_section(Context& c) {
  for (const int K : {c.scale.K(1), c.scale.K(100)}) {
    const xent::BatchNormShape s{K, c.scale.rows(1024), 250};
    const size_t n = static_cast<size_t>(s.K * s.rows * s.width), w = size_t{1} * s.K * s.width;
    Buffer h(c.stream, n), a(c.stream, n), da(c.stream, n), dh(c.stream, n),
        gamma(c.stream, w, 0.5f, 1.5f), beta(c.stream, w), mean(c.stream, w), rstd(c.stream, w),
        rm(c.stream, w), rv(c.stream, w, 0.5f, 1.5f), dg(c.stream, w), dbeta(c.stream, w),
        bias(c.stream, w), dbias(c.stream, w);
    const std::string shape = dims({s.K, s.rows, s.width});
    // With the linear layer's bias folded in, as the layer stack runs them. At K = 1 both block
    // widths (the launchers take 8 columns there: 32 blocks instead of 8), to show what the
    // wider grid buys; K = 100 has enough 32-column blocks for every SM.
    using xent::kernels::BatchNormBlocks;
    struct Width {
      BatchNormBlocks blocks;
      std::string forward, backward;
    };
    const std::vector<Width> widths =
        K == 1 ? std::vector<Width>{{BatchNormBlocks::kColumns8, "forward train, 8-column blocks",
                                     "backward + bias gradient, 8-column blocks"},
                                    {BatchNormBlocks::kColumns32, "forward train, 32-column blocks",
                                     "backward + bias gradient, 32-column blocks"}}
               : std::vector<Width>{{BatchNormBlocks::kAuto,
                                     "forward train, fused bias + BN + LeakyReLU",
                                     "backward, fused with the bias gradient"}};
    for (const Width& wd : widths) {
      c.rows.push_back(
          {"batchnorm", wd.forward, shape, c.timer.time([&] {
             xent::kernels::batchnorm_act_forward_train(s, h.get(), bias.get(), gamma.get(),
                                                        beta.get(), a.get(), mean.get(), rstd.get(),
                                                        rm.get(), rv.get(), c.stream, wd.blocks);
           }),
           8.0 * static_cast<double>(n), 0, static_cast<double>(s.K * s.rows), "rows"});
      c.rows.push_back(
          {"batchnorm", wd.backward, shape, c.timer.time([&] {
             xent::kernels::batchnorm_act_backward(
                 s, h.get(), bias.get(), a.get(), gamma.get(), mean.get(), rstd.get(), da.get(),
                 dh.get(), dbias.get(), dg.get(), dbeta.get(), c.stream, wd.blocks);
           }),
           16.0 * static_cast<double>(n), 0, static_cast<double>(s.K * s.rows), "rows"});
    }
  }
  // The classification probe's loss over 170 logistic fits of 34,000 rows (the ImageNet-X
  // protocol's larger split, 17 targets x 10 repeats); the logits become the gradient, so the
  // repeated calls run on gradient values (the speed does not depend on them).
  {
    const xent::LogisticShape s{c.scale.rows(34000), 170};
    const size_t n = static_cast<size_t>(s.rows) * s.fits;
    const size_t blocks =
        static_cast<size_t>((s.rows + xent::kLogisticBlock - 1) / xent::kLogisticBlock);
    Buffer z(c.stream, n, -4.0f, 4.0f), y(c.stream, n, 0.0f, 1.0f), w(c.stream, n, 0.5f, 1.5f),
        table(c.stream, 2 * blocks * s.fits), loss(c.stream, 2 * static_cast<size_t>(s.fits));
    c.rows.push_back(
        {"logistic", "loss and gradient of 170 fits", dims({s.rows, s.fits}), c.timer.time([&] {
           xent::kernels::logistic_loss(s, z.get(), y.get(), w.get(), table.as<double>(),
                                        loss.as<double>(), c.stream);
         }),
         16.0 * static_cast<double>(n), 0, static_cast<double>(n), "elements"});
  }
  // The multinomial probe's loss over 10 softmax fits of 10 classes on 34,000 rows (10 repeats
  // of one 10-class target). Labels in [0, 1) are class 0 after truncation, a valid index.
  {
    const xent::MultinomialShape s{c.scale.rows(34000), 10, 10};
    const size_t cells = static_cast<size_t>(s.rows) * s.fits;
    const size_t n = cells * static_cast<size_t>(s.classes);
    const size_t blocks =
        static_cast<size_t>((s.rows + xent::kLogisticBlock - 1) / xent::kLogisticBlock);
    Buffer z(c.stream, n, -4.0f, 4.0f), y(c.stream, cells, 0.0f, 1.0f),
        w(c.stream, cells, 0.5f, 1.5f), table(c.stream, 2 * blocks * s.fits),
        loss(c.stream, 2 * static_cast<size_t>(s.fits));
    c.rows.push_back({"multinomial", "loss and gradient of 10 fits x 10 classes",
                      dims({s.rows, s.fits, s.classes}), c.timer.time([&] {
                        xent::kernels::multinomial_loss(s, z.get(), y.get(), w.get(),
                                                        table.as<double>(), loss.as<double>(),
                                                        c.stream);
                      }),
                      8.0 * static_cast<double>(n + cells), 0, static_cast<double>(n), "elements"});
  }
  // Adam over a population of 100 base models (about 214k parameters each).
  const int64_t n = int64_t{c.scale.K(100)} * 214000;
  Buffer p(c.stream, static_cast<size_t>(n)), g(c.stream, static_cast<size_t>(n)),
      m(c.stream, static_cast<size_t>(n)), v(c.stream, static_cast<size_t>(n), 0.0f, 1.0f);
  const xent::AdamParams ap;
  xent::kernels::AdamCorrections corrections;
  corrections.now = xent::cuda::adam_table(ap, 1).steps[0];  // step 1
  c.rows.push_back({"adam", "fused Adam", std::to_string(n), c.timer.time([&] {
                      xent::kernels::adam(n, p.get(), g.get(), m.get(), v.get(), ap, corrections,
                                          c.stream);
                    }),
                    28.0 * static_cast<double>(n), 0, static_cast<double>(n), "params"});
}

void dgp_section(Context& c) {
  const int K = c.scale.K(100);
  const int64_t n = c.scale.rows(1024);
  const xent::DgpParams p;
  std::vector<xent::kernels::LatentReplica> hr;
  for (int k = 0; k < K; ++k) hr.push_back(xent::cuda::latent_replica(p, static_cast<uint64_t>(k)));
  xent::kernels::LatentReplica* replicas = nullptr;
  CHECK(cudaMalloc(&replicas, hr.size() * sizeof(hr[0])));
  upload(c.stream, replicas, hr.data(), hr.size() * sizeof(hr[0]));
  Buffer centres(c.stream, static_cast<size_t>(K) * p.clusters * p.d),
      z(c.stream, static_cast<size_t>(K * n * p.d)), labels(c.stream, static_cast<size_t>(K * n)),
      x(c.stream, static_cast<size_t>(K * n * p.d)),
      mix(c.stream, static_cast<size_t>(K) * p.mixing_layers * p.d * p.d);
  std::vector<float> hc;
  for (int k = 0; k < K; ++k) {
    const std::vector<float> ck = xent::draw_centres(p, static_cast<uint64_t>(k));
    hc.insert(hc.end(), ck.begin(), ck.end());
  }
  upload(c.stream, centres.get(), hc.data(), hc.size() * sizeof(float));
  const std::string shape = dims({K, n, p.d});
  const double samples = static_cast<double>(K * n);
  c.rows.push_back({"latents", "vMF (Wood) latents + labels", shape, c.timer.time([&] {
                      xent::kernels::sample_latents(K, p.d, p.clusters, replicas, centres.get(),
                                                    xent::RngPurpose::Train, 0, nullptr, n, z.get(),
                                                    labels.as<int32_t>(), nullptr, c.stream);
                    }),
                    samples * 4.0 * (p.d + 1), 0, samples, "samples"});
  c.rows.push_back({"mixing", "mixing MLP (4 layers)", shape, c.timer.time([&] {
                      xent::kernels::mixing_forward(K, p.mixing_layers, p.d, mix.get(), z.get(), n,
                                                    x.get(), c.stream);
                    }),
                    samples * 8.0 * p.d, samples * 2.0 * p.d * p.d * p.mixing_layers, samples,
                    "samples"});
  CHECK(cudaFree(replicas));
}

// What a batch of xent.DgpSource(device="cuda") costs: the draw (latents and mixing) of one
// base replica, 1024 rows, into memory handed to a consumer's stream (python/src/data.cpp), from
// cuda::ExportPool, against the three cudaMalloc and cudaFree a batch took before: cudaFree
// waits for the whole device. Wall time of the host's calls and the device's work, in order.
void dgp_batch_section(Context& c) {
  const int64_t n = c.scale.rows(1024);
  const xent::DgpParams p;
  const size_t floats = static_cast<size_t>(n * p.d) * sizeof(float);
  const size_t ints = static_cast<size_t>(n) * sizeof(int32_t);
  xent::DeviceArray<float> centres(c.backend, static_cast<size_t>(p.clusters * p.d)),
      mix(c.backend, static_cast<size_t>(p.mixing_layers * p.d * p.d));
  centres.upload(xent::draw_centres(p, 0));
  mix.upload(xent::draw_mixing(p, 0));
  cudaStream_t consumer = nullptr;
  CHECK(cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking));
  auto draw = [&](float* z, float* x, int32_t* labels) {
    c.backend.sample_latents({p}, {0}, centres.data(), xent::RngPurpose::Train, 0, nullptr, n, z,
                             labels, nullptr);
    c.backend.mixing_forward(1, p.mixing_layers, p.d, mix.data(), z, n, x);
  };
  // The backend outlives the pool here: a pointer that owns nothing.
  xent::cuda::ExportPool pool(
      std::shared_ptr<xent::cuda::CudaBackend>(&c.backend, [](xent::cuda::CudaBackend*) {}),
      2 * floats + ints);
  const std::string shape = dims({1, n, p.d});
  const double samples = static_cast<double>(n);
  const double bytes = 2.0 * static_cast<double>(floats) + static_cast<double>(ints);
  c.rows.push_back({"dgp_batch", "DgpSource batch: pooled, handed to a stream", shape,
                    c.timer.time([&] {
                      auto lease = pool.acquire();
                      char* b = static_cast<char*>(lease->data());
                      draw(reinterpret_cast<float*>(b + floats), reinterpret_cast<float*>(b),
                           reinterpret_cast<int32_t*>(b + 2 * floats));
                      lease->export_to(consumer);
                    }),
                    bytes, 0, samples, "samples"});
  c.rows.push_back({"dgp_batch", "DgpSource batch: 3 cudaMalloc + cudaFree", shape,
                    c.timer.time([&] {
                      float *z = nullptr, *x = nullptr;
                      int32_t* labels = nullptr;
                      CHECK(cudaMalloc(&z, floats));
                      CHECK(cudaMalloc(&x, floats));
                      CHECK(cudaMalloc(&labels, ints));
                      draw(z, x, labels);
                      c.backend.synchronize();
                      CHECK(cudaFree(z));
                      CHECK(cudaFree(x));
                      CHECK(cudaFree(labels));
                    }),
                    bytes, 0, samples, "samples"});
  CHECK(cudaStreamSynchronize(consumer));
  CHECK(cudaStreamDestroy(consumer));
}

// A dSprites batch of the DisLib classifier: 4096 images of 64 x 64 floats from the 720 sprite
// masks; bytes count the images written (the masks stay in L2).
void sprites_section(Context& c) {
  const int64_t n = c.scale.rows(4096);
  const std::vector<uint8_t> hm = xent::dsprites::render_masks();
  std::vector<int32_t> hi(static_cast<size_t>(n));
  for (size_t i = 0; i < hi.size(); ++i)
    hi[i] = static_cast<int32_t>((i * 104729) % static_cast<size_t>(xent::dsprites::kImages));
  Buffer masks(c.stream, (hm.size() + 3) / 4), index(c.stream, hi.size()),
      labels(c.stream, hi.size()),
      images(c.stream, static_cast<size_t>(n) * xent::dsprites::kPixels);
  upload(c.stream, masks.get(), hm.data(), hm.size());
  upload(c.stream, index.get(), hi.data(), hi.size() * 4);
  c.rows.push_back({"sprites", "render_sprites (kernels/render_sprites.cu)",
                    dims({n, xent::dsprites::kPixels}), c.timer.time([&] {
                      xent::kernels::render_sprites(masks.as<uint8_t>(), index.as<int32_t>(),
                                                    nullptr, 1, n, images.get(),
                                                    labels.as<int32_t>(), c.stream);
                    }),
                    4.0 * static_cast<double>(n) * (xent::dsprites::kPixels + 2), 0,
                    static_cast<double>(n), "images"});
}

// A 3D Shapes batch of the DisLib classifier: 4096 RGB images of 3 x 64 x 64 floats coloured
// from the 480 ray-cast views; bytes count the images written and the views read (8 KiB an
// image, from L2 after the first touch of each view).
void shapes3d_section(Context& c) {
  namespace s3 = xent::shapes3d;
  const int64_t n = c.scale.rows(4096);
  const std::vector<uint8_t> hv = s3::render_views();
  std::vector<int32_t> hi(static_cast<size_t>(n));
  for (size_t i = 0; i < hi.size(); ++i)
    hi[i] = static_cast<int32_t>((i * 104729) % static_cast<size_t>(s3::kImages));
  Buffer views(c.stream, (hv.size() + 3) / 4), index(c.stream, hi.size()),
      labels(c.stream, hi.size()), images(c.stream, static_cast<size_t>(n) * s3::kValues);
  upload(c.stream, views.get(), hv.data(), hv.size());
  upload(c.stream, index.get(), hi.data(), hi.size() * 4);
  c.rows.push_back({"shapes3d", "render_shapes3d (kernels/render_shapes3d.cu)",
                    dims({n, s3::kValues}), c.timer.time([&] {
                      xent::kernels::render_shapes3d(views.as<uint8_t>(), index.as<int32_t>(),
                                                     nullptr, 1, n, images.get(),
                                                     labels.as<int32_t>(), c.stream);
                    }),
                    static_cast<double>(n) * (4.0 * s3::kValues + s3::kViewBytes + 8), 0,
                    static_cast<double>(n), "images"});
}

// One encoder layer's forward (Linear 250 -> 250, BatchNorm, LeakyReLU) at batch 1024: as the
// backend runs it, and as plain cuBLAS with separate bias, statistics, normalisation and
// activation kernels.
void layer_section(Context& c) {
  // The plain version's GEMM through xent's BLAS wrapper: cuBLAS on a GPU, OpenBLAS on the
  // emulator (host/cuda/blas.h), with the backend's FP32 math.
  const std::unique_ptr<xent::cuda::Blas> blas = xent::cuda::make_blas(c.stream, false);
  const int64_t rows = c.scale.rows(1024);
  constexpr int kWidth = 250;
  for (const int K : {c.scale.K(1), c.scale.K(100)}) {
    const xent::LinearShape ls{K, rows, kWidth, kWidth};
    const xent::BatchNormShape bs{K, rows, kWidth};
    const size_t nx = static_cast<size_t>(K * rows * kWidth), nw = size_t{1} * K * kWidth * kWidth,
                 nc = size_t{1} * K * kWidth;
    Buffer x(c.stream, nx), w(c.stream, nw), b(c.stream, nc), h(c.stream, nx), a(c.stream, nx),
        gamma(c.stream, nc, 0.5f, 1.5f), beta(c.stream, nc), mean(c.stream, nc), var(c.stream, nc),
        rstd(c.stream, nc), rm(c.stream, nc), rv(c.stream, nc, 0.5f, 1.5f);
    const double flops = 2.0 * K * static_cast<double>(rows) * kWidth * kWidth;
    const double bytes = 4.0 * static_cast<double>(2 * nx + nw);
    const std::string shape = dims({K, rows, kWidth, kWidth});
    c.rows.push_back({"layer", "backend: cuBLAS + fused bias/BN/act", shape, c.timer.time([&] {
                        c.backend.linear_forward(ls, x.get(), w.get(), nullptr, h.get());
                        c.backend.batchnorm_act_forward_train(bs, h.get(), b.get(), gamma.get(),
                                                              beta.get(), a.get(), mean.get(),
                                                              rstd.get(), rm.get(), rv.get());
                      }),
                      bytes, flops, 0, ""});
    c.rows.push_back(
        {"layer", "plain: cuBLAS, bias, stats, normalise, act", shape, c.timer.time([&] {
           // Row-major y = x W^T is column-major y^T = W x^T: op(A) = W^T of the [in][out] view.
           xent::cuda::Gemm g;
           g.trans_a = true;
           g.m = kWidth, g.n = static_cast<int>(rows), g.k = kWidth;
           g.a = w.get(), g.lda = kWidth, g.stride_a = int64_t{kWidth} * kWidth;
           g.b = x.get(), g.ldb = kWidth, g.stride_b = rows * kWidth;
           g.c = h.get(), g.ldc = kWidth, g.stride_c = rows * kWidth;
           g.batch = K;
           blas->gemm(g);
           const int64_t n = static_cast<int64_t>(nx);
           xent::launch(add_bias, blocks(n), kThreads, 0, c.stream)(h.get(), b.get(), n, rows,
                                                                    kWidth);
           for (int k = 0; k < K; ++k)  // one statistics launch per replica, as a plain loop
             xent::launch(column_stats, 1, kThreads, 0, c.stream)(
                 h.get() + static_cast<size_t>(k * rows * kWidth), rows, kWidth,
                 mean.get() + k * kWidth, var.get() + k * kWidth);
           xent::launch(normalize_affine, blocks(n), kThreads, 0, c.stream)(
               h.get(), mean.get(), var.get(), gamma.get(), beta.get(), a.get(), n, rows, kWidth,
               1e-5f);
           xent::launch(leaky_relu, blocks(n), kThreads, 0, c.stream)(a.get(), n, 0.01f);
           CHECK(cudaGetLastError());
         }),
         bytes, flops, 0, ""});
  }
}

// Whole training steps, graphed and eager, on a fresh backend each.
void step_section(std::vector<Row>& rows, const Scale& scale) {
  for (const char* preset : {"sup-base", "diet-base"})
    for (const int K : {scale.K(1), scale.K(100)})
      for (const bool graphs : {true, false}) {
        xent::cuda::CudaOptions o;
        o.graphs = graphs;
        xent::cuda::CudaBackend backend(o);
        // Fewer condition-number draws only make the frozen mixing matrices' one-time draw
        // cheaper (100 replicas x 4 layers); the step does the same work.
        const xent::Config cfg = xent::load_config(
            preset, "",
            {"train.population=" + std::to_string(K), "train.eval_samples=64",
             "dgp.mixing_cond_draws=100", "train.batch=" + std::to_string(scale.rows(1024))});
        xent::Trainer t(backend, cfg);
        Timer timer(backend.stream(), scale);
        const int steps = scale.quick ? 3 : K == 1 ? 200 : 20;
        const double ms = timer.time(
            [&] {
              for (int i = 0; i < steps; ++i) t.step();
            },
            3);
        // The launches of one step, from the captured graph (the eager rows have none).
        const xent::cuda::CudaBackend::GraphCounts n = backend.step_graph();
        const std::string launches = graphs ? " (" + std::to_string(n.kernels) + " kernels, " +
                                                  std::to_string(n.nodes) + " nodes)"
                                            : "";
        rows.push_back(
            {"train_step", std::string(graphs ? "graphed " : "eager ") + preset + launches,
             "K=" + std::to_string(K) + " batch " + std::to_string(cfg.train.batch), ms / steps, 0,
             // about 6 FLOPs per parameter and row: forward, dx and dW GEMMs
             6.0 * static_cast<double>(cfg.train.batch) *
                 static_cast<double>(t.model().num_params()),
             1.0, "steps"});
      }
}

void print(const std::vector<Row>& rows) {
  std::string section;
  std::printf("%-44s %-18s %10s %9s %6s %10s %6s %12s\n", "op", "shape", "us", "GB/s", "%HBM",
              "GFLOP/s", "%FP32", "items/s");
  for (const Row& r : rows) {
    if (r.section != section) std::printf("-- %s\n", (section = r.section).c_str());
    const double s = r.ms * 1e-3;
    const double gbs = r.bytes / s * 1e-9, gfs = r.flops / s * 1e-9;
    std::printf("%-44s %-18s %10.1f ", r.name.c_str(), r.shape.c_str(), r.ms * 1e3);
    if (r.bytes > 0)
      std::printf("%9.0f %6.1f ", gbs, 100.0 * r.bytes / s / kPeakBytesPerS);
    else
      std::printf("%9s %6s ", "", "");
    if (r.flops > 0)
      std::printf("%10.0f %6.1f ", gfs, 100.0 * r.flops / s / kPeakFlopsPerS);
    else
      std::printf("%10s %6s ", "", "");
    if (r.items > 0)
      std::printf("%10.3g %s\n", r.items / s, r.item.c_str());
    else
      std::printf("\n");
  }
}

nlohmann::json to_json(const std::vector<Row>& rows, const cudaDeviceProp& prop) {
  nlohmann::json out = {{"device", prop.name},
                        {"peak_bytes_per_s", kPeakBytesPerS},
                        {"peak_flops_per_s", kPeakFlopsPerS},
                        {"rows", nlohmann::json::array()}};
  for (const Row& r : rows) {
    const double s = r.ms * 1e-3;
    nlohmann::json j = {{"section", r.section}, {"name", r.name}, {"shape", r.shape}, {"ms", r.ms}};
    if (r.bytes > 0)
      j["bytes_per_s"] = r.bytes / s, j["hbm_fraction"] = r.bytes / s / kPeakBytesPerS;
    if (r.flops > 0)
      j["flops_per_s"] = r.flops / s, j["fp32_fraction"] = r.flops / s / kPeakFlopsPerS;
    if (r.items > 0) j[r.item + "_per_s"] = r.items / s;
    out["rows"].push_back(j);
  }
  return out;
}

int run(const std::string& json_path, const Scale& scale) {
  if (const std::string why = xent::cuda::missing_device(); !why.empty()) {
    // XENT_REQUIRE_GPU=1 (tools/gpu-check on the GPU): a machine that cannot run it fails.
    const char* required = std::getenv("XENT_REQUIRE_GPU");
    if (required && std::string(required) == "1") throw xent::DeviceError(why);
    std::printf("xent_gpu_bench: %s; nothing to measure\n", why.c_str());
    return 0;
  }
  cudaDeviceProp prop{};
  CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf(
      "xent_gpu_bench on %s (%d SMs); peaks: %.1f TB/s, %.0f TFLOP/s FP32; median of %d "
      "%srepeats after %d warm-ups%s\n",
      prop.name, prop.multiProcessorCount, kPeakBytesPerS * 1e-12, kPeakFlopsPerS * 1e-12,
      scale.repeats(kRepeats), scale.quick ? "" : "cold-L2 ", scale.warmup(),
      scale.quick ? " (--quick: small shapes, the times mean nothing)" : "");
  std::vector<Row> rows;
  {
    xent::cuda::CudaBackend backend;
    Timer timer(backend.stream(), scale);
    Context c{backend, backend.stream(), timer, rows, scale};
    softmax_section(c);
    linear_section(c);
    layer_section(c);
    elementwise_section(c);
    dgp_section(c);
    dgp_batch_section(c);
    sprites_section(c);
    shapes3d_section(c);
  }
  step_section(rows, scale);
  print(rows);
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << to_json(rows, prop).dump(2) << "\n";
    if (!f) throw xent::InputError("--json " + json_path + ": cannot write the file");
    std::printf("wrote %s\n", json_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string json_path;
  Scale scale;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (a == "--quick") {
      scale.quick = true;
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "usage: xent_gpu_bench [--json FILE] [--quick]\n"
          "  --json FILE  also write the rows as JSON\n"
          "  --quick      small shapes, one repeat: only runs the code (the times mean nothing)\n");
      return 0;
    } else {
      std::fprintf(stderr,
                   "xent_gpu_bench: unknown argument '%s' (usage: [--json FILE] [--quick])\n",
                   a.c_str());
      return 2;
    }
  }
  try {
    return run(json_path, scale);
  } catch (const xent::InputError& e) {
    std::fprintf(stderr, "xent_gpu_bench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xent_gpu_bench: %s\n", e.what());
    return 4;
  }
}
