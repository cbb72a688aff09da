// The CPU backend's ops and whole training steps of the paper's base model, under Google
// Benchmark. Rates are counters (rows/s, GFLOP/s, samples/s, steps/s); --benchmark_format=json
// or --benchmark_out=FILE --benchmark_out_format=json write them for scripts. Every row runs on
// the backend's pool of 1 thread and, when this process may use more cores, of all of them: the
// first argument of a row's name (softmax_xent/2/1/1000: 2 threads, K = 1, 1000 classes). Rates are
// per wall-clock second (UseRealTime): the pool's workers do not show in the main thread's CPU
// time.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu_backend.h"
#include "io/cores.h"
#include "xent/config.h"
#include "xent/dgp.h"
#include "xent/dsprites.h"
#include "xent/philox.h"
#include "xent/shapes3d.h"
#include "xent/trainer.h"

namespace xent {
namespace {

// One backend per thread count, made on first use.
CpuBackend& backend(const benchmark::State& st) {
  static std::map<int64_t, std::unique_ptr<CpuBackend>> backends;
  const int64_t threads = st.range(0);
  auto& b = backends[threads];
  if (!b) b = std::make_unique<CpuBackend>(static_cast<int>(threads));
  return *b;
}

// Registers a row for each of `args` at each thread count (1, and every usable core).
void rows(benchmark::internal::Benchmark* b, std::vector<std::vector<int64_t>> args) {
  std::vector<int64_t> counts = {1};
  if (usable_cores() > 1) counts.push_back(usable_cores());
  for (const int64_t t : counts)
    for (auto a : args) {
      a.insert(a.begin(), t);
      b->Args(a);
    }
  b->UseRealTime();
}

// Values in [-1, 1): the ops' speed does not depend on them, only NaN-free inputs matter.
std::vector<float> filled(size_t n, uint64_t seed) {
  Philox rng(seed, 0, 0);
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(2.0 * rng.uniform() - 1.0);
  return v;
}

// K replicas of a batch of `rows` through logits of `classes` columns, gradient in place. The
// logits are refilled outside the timed region: the op overwrites them with the gradient.
void softmax_xent(benchmark::State& st) {
  const XentShape s{static_cast<int>(st.range(1)), 1024, st.range(2)};
  const size_t n = static_cast<size_t>(s.K * s.rows * s.classes);
  const std::vector<float> fresh = filled(n, 1);
  std::vector<float> logits(n), loss(s.K);
  std::vector<int32_t> labels(static_cast<size_t>(s.K * s.rows));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i * 7 % s.classes);
  for (auto _ : st) {
    st.PauseTiming();
    logits = fresh;
    st.ResumeTiming();
    backend(st).softmax_xent(s, logits.data(), labels.data(), loss.data(), nullptr, true);
    benchmark::DoNotOptimize(loss.data());
  }
  st.counters["rows/s"] = benchmark::Counter(static_cast<double>(s.K * s.rows),
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(softmax_xent)->Apply([](auto* b) {
                         rows(b, {{1, 100}, {1, 1000}, {16, 1000}});
                       }) -> Unit(benchmark::kMicrosecond);

// The encoder's layer shapes at batch 1024 (in, out): the first, a 250-wide middle one, the
// output layer, and the head of a DIET model (5 -> 1000 classes).
LinearShape linear_shape(const benchmark::State& st) {
  return {1, 1024, static_cast<int>(st.range(1)), static_cast<int>(st.range(2))};
}

void linear_forward(benchmark::State& st) {
  const LinearShape s = linear_shape(st);
  const auto x = filled(static_cast<size_t>(s.rows * s.in), 1);
  const auto w = filled(static_cast<size_t>(s.out) * s.in, 2);
  const auto b = filled(static_cast<size_t>(s.out), 3);
  std::vector<float> y(static_cast<size_t>(s.rows * s.out));
  for (auto _ : st) {
    backend(st).linear_forward(s, x.data(), w.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(2e-9 * static_cast<double>(s.rows * s.in * s.out),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(linear_forward)
    ->Apply([](auto* b) {
      rows(b, {{5, 50}, {50, 250}, {250, 250}, {50, 5}, {5, 1000}});
    }) -> Unit(benchmark::kMicrosecond);

// Both GEMMs (dx and dW) and the bias gradient.
void linear_backward(benchmark::State& st) {
  const LinearShape s = linear_shape(st);
  const auto x = filled(static_cast<size_t>(s.rows * s.in), 1);
  const auto w = filled(static_cast<size_t>(s.out) * s.in, 2);
  const auto dy = filled(static_cast<size_t>(s.rows * s.out), 3);
  std::vector<float> dx(x.size()), dw(w.size()), db(static_cast<size_t>(s.out));
  for (auto _ : st) {
    backend(st).linear_backward(s, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    benchmark::DoNotOptimize(dw.data());
  }
  st.counters["GFLOP/s"] = benchmark::Counter(4e-9 * static_cast<double>(s.rows * s.in * s.out),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(linear_backward)->Apply([](auto* b) {
                            rows(b, {{50, 250}, {250, 250}, {5, 1000}});
                          }) -> Unit(benchmark::kMicrosecond);

// BatchNorm + LeakyReLU at a 250-wide hidden layer, training forward then backward, with the
// linear layer's bias folded in as the layer stack runs it.
void batchnorm_act(benchmark::State& st) {
  const BatchNormShape s{1, 1024, static_cast<int>(st.range(1))};
  const size_t n = static_cast<size_t>(s.rows * s.width), w = static_cast<size_t>(s.width);
  const auto h = filled(n, 1), da = filled(n, 2);
  std::vector<float> gamma(w, 1.0f), beta(w, 0.0f), mean(w), rstd(w), rm(w, 0.0f), rv(w, 1.0f);
  std::vector<float> a(n), dh(n), dg(w), dbeta(w), bias(w, 0.25f), dbias(w);
  for (auto _ : st) {
    backend(st).batchnorm_act_forward_train(s, h.data(), bias.data(), gamma.data(), beta.data(),
                                            a.data(), mean.data(), rstd.data(), rm.data(),
                                            rv.data());
    backend(st).batchnorm_act_backward(s, h.data(), bias.data(), a.data(), gamma.data(),
                                       mean.data(), rstd.data(), da.data(), dh.data(), dbias.data(),
                                       dg.data(), dbeta.data());
    benchmark::DoNotOptimize(dh.data());
  }
  st.counters["rows/s"] = benchmark::Counter(static_cast<double>(s.rows),
                                             benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(batchnorm_act)->Apply([](auto* b) {
                          rows(b, {{50}, {250}});
                        }) -> Unit(benchmark::kMicrosecond);

// The base DGP's latents (vMF by Wood's rejection sampler) and the mixing MLP, per sample.
void vmf_latents(benchmark::State& st) {
  const DgpParams p;
  const auto centres = draw_centres(p, 0);
  const int64_t n = st.range(1);
  std::vector<float> z(static_cast<size_t>(n * p.d));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  uint64_t first = 0;
  for (auto _ : st) {
    backend(st).sample_latents({p}, {0}, centres.data(), RngPurpose::Train, first, nullptr, n,
                               z.data(), labels.data(), nullptr);
    first += static_cast<uint64_t>(n);
    benchmark::DoNotOptimize(z.data());
  }
  st.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(vmf_latents)->Apply([](auto* b) { rows(b, {{1024}}); }) -> Unit(benchmark::kMicrosecond);

void mixing(benchmark::State& st) {
  const DgpParams p;
  const auto weights = draw_mixing(p, 0);
  const int64_t n = st.range(1);
  const auto z = filled(static_cast<size_t>(n * p.d), 1);
  std::vector<float> x(z.size());
  for (auto _ : st) {
    backend(st).mixing_forward(1, p.mixing_layers, p.d, weights.data(), z.data(), n, x.data());
    benchmark::DoNotOptimize(x.data());
  }
  st.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(mixing)->Apply([](auto* b) { rows(b, {{1024}}); }) -> Unit(benchmark::kMicrosecond);

// The evaluation's probe: 8192 rows of d = 5 features against d = 5 targets, half fit.
void probe(benchmark::State& st) {
  const int64_t n = 8192;
  const int d = 5;
  const auto z = filled(static_cast<size_t>(n * d), 1);
  auto f = filled(z.size(), 2);
  for (size_t i = 0; i < f.size(); ++i) f[i] = 0.1f * f[i] + z[i];  // features that fit
  for (auto _ : st)
    benchmark::DoNotOptimize(backend(st).probe(f.data(), n, d, z.data(), d, 0.5, 1.0));
  st.counters["probes/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(probe)->Apply([](auto* b) { rows(b, {{}}); }) -> Unit(benchmark::kMicrosecond);

// The classification probe's loss over the logits of `fits` logistic fits on 34,000 rows (the
// ImageNet-X protocol's larger split; 17 targets x 10 repeats = 170 fits), gradient in place.
void logistic_loss(benchmark::State& st) {
  const LogisticShape s{34000, static_cast<int>(st.range(1))};
  const size_t n = static_cast<size_t>(s.rows) * s.fits;
  const std::vector<float> fresh = filled(n, 1), labels = filled(n, 2);
  std::vector<float> logits(n), y(n), w(n, 1.0f);
  for (size_t i = 0; i < n; ++i) y[i] = labels[i] > 0.0f ? 1.0f : 0.0f;
  std::vector<double> loss(static_cast<size_t>(s.fits));
  for (auto _ : st) {
    st.PauseTiming();
    logits = fresh;
    st.ResumeTiming();
    backend(st).logistic_loss(s, logits.data(), y.data(), w.data(), loss.data());
    benchmark::DoNotOptimize(loss.data());
  }
  st.counters["elements/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(logistic_loss)->Apply([](auto* b) { rows(b, {{170}}); }) -> Unit(benchmark::kMicrosecond);

// The multinomial probe's loss over the logits of `fits` softmax fits of `classes` classes on
// 34,000 rows (10 repeats of one 10-class target), gradient in place.
void multinomial_loss(benchmark::State& st) {
  const MultinomialShape s{34000, static_cast<int>(st.range(1)), static_cast<int>(st.range(2))};
  const size_t cells = static_cast<size_t>(s.rows) * s.fits;
  const size_t n = cells * static_cast<size_t>(s.classes);
  const std::vector<float> fresh = filled(n, 1), draws = filled(cells, 2);
  std::vector<float> logits(n), y(cells), w(cells, 1.0f);
  const auto classes = static_cast<float>(s.classes);
  for (size_t i = 0; i < cells; ++i)
    y[i] = std::min(std::floor((draws[i] + 1.0f) * 0.5f * classes), classes - 1.0f);
  std::vector<double> loss(static_cast<size_t>(s.fits));
  for (auto _ : st) {
    st.PauseTiming();
    logits = fresh;
    st.ResumeTiming();
    backend(st).multinomial_loss(s, logits.data(), y.data(), w.data(), loss.data());
    benchmark::DoNotOptimize(loss.data());
  }
  st.counters["elements/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(multinomial_loss)->Apply([](auto* b) {
                             rows(b, {{10, 10}});
                           }) -> Unit(benchmark::kMicrosecond);

// A dSprites batch of the DisLib classifier (4096 images of 64 x 64 floats) from the sprite
// masks and an index list; GB/s counts the images written.
void render_sprites(benchmark::State& st) {
  const int64_t n = st.range(1);
  const std::vector<uint8_t> masks = dsprites::render_masks();
  std::vector<int32_t> index(static_cast<size_t>(n));
  for (size_t i = 0; i < index.size(); ++i)
    index[i] = static_cast<int32_t>((i * 104729) % static_cast<size_t>(dsprites::kImages));
  std::vector<float> images(static_cast<size_t>(n) * dsprites::kPixels);
  std::vector<int32_t> labels(index.size());
  for (auto _ : st) {
    backend(st).render_sprites(masks.data(), index.data(), nullptr, 1, n, images.data(),
                               labels.data());
    benchmark::DoNotOptimize(images.data());
  }
  st.counters["images/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(images.size() * sizeof(float)) / 1e9,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(render_sprites)
    ->Apply([](auto* b) { rows(b, {{4096}}); }) -> Unit(benchmark::kMicrosecond);

// A 3D Shapes batch of the DisLib classifier (4096 RGB images of 3 x 64 x 64 floats) from the
// ray-cast views and an index list; GB/s counts the images written.
void render_shapes3d(benchmark::State& st) {
  const int64_t n = st.range(1);
  const std::vector<uint8_t> views = shapes3d::render_views();
  std::vector<int32_t> index(static_cast<size_t>(n));
  for (size_t i = 0; i < index.size(); ++i)
    index[i] = static_cast<int32_t>((i * 104729) % static_cast<size_t>(shapes3d::kImages));
  std::vector<float> images(static_cast<size_t>(n) * shapes3d::kValues);
  std::vector<int32_t> labels(index.size());
  for (auto _ : st) {
    backend(st).render_shapes3d(views.data(), index.data(), nullptr, 1, n, images.data(),
                                labels.data());
    benchmark::DoNotOptimize(images.data());
  }
  st.counters["images/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GB/s"] = benchmark::Counter(static_cast<double>(images.size() * sizeof(float)) / 1e9,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(render_shapes3d)
    ->Apply([](auto* b) { rows(b, {{4096}}); }) -> Unit(benchmark::kMicrosecond);

// Whole training steps (DGP draw, forward, cross-entropy, backward, Adam) of a preset with a
// population of K replicas; steps/s counts population steps, replica-steps/s their replicas.
void train_step(benchmark::State& st, const std::string& preset) {
  const int K = static_cast<int>(st.range(1));
  const Config c =
      load_config(preset, "", {"train.population=" + std::to_string(K), "train.eval_samples=16"});
  Trainer t(backend(st), c);
  t.step();  // first touch of every buffer
  for (auto _ : st) t.step();
  st.counters["steps/s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["replica-steps/s"] =
      benchmark::Counter(static_cast<double>(K), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(train_step, sup_base, std::string("sup-base"))
    ->Apply([](auto* b) {
      rows(b, {{1}, {8}, {16}});
    }) -> Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(train_step, diet_base, std::string("diet-base"))
    ->Apply([](auto* b) {
      rows(b, {{1}, {8}, {16}});
    }) -> Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace xent

BENCHMARK_MAIN();
