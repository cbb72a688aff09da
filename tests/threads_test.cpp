// The CPU backend's ops give the same bits on 1, 2 and 3 threads (host/cpu/thread_pool.h): each
// op is run on pools of every size over the same inputs and its outputs compared bit for bit.
#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/ops.h"
#include "cpu/thread_pool.h"
#include "xent/philox.h"

namespace xent {
namespace {

std::vector<float> uniforms(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Philox rng(seed, 7, 0);
  std::vector<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * static_cast<float>(rng.uniform());
  return v;
}

// Runs op(pool, outputs) on pools of 1, 2 and 3 threads, each from the same `outputs`, and
// expects the outputs of every pool to equal the first pool's bit for bit.
void expect_same_bits(
    const std::string& what, std::vector<std::vector<float>> outputs,
    const std::function<void(cpu::ThreadPool&, std::vector<std::vector<float>>&)>& op) {
  std::vector<std::vector<float>> first;
  for (int threads : {1, 2, 3}) {
    cpu::ThreadPool pool(threads);
    std::vector<std::vector<float>> o = outputs;
    op(pool, o);
    if (threads == 1) {
      first = o;
      continue;
    }
    for (size_t i = 0; i < o.size(); ++i)
      EXPECT_EQ(std::memcmp(o[i].data(), first[i].data(), o[i].size() * sizeof(float)), 0)
          << what << ": output " << i << " on " << threads << " threads";
  }
}

struct Dims {
  int K;
  int64_t rows;
  int in, out;
};

// The paper's encoder and heads (batch 1024, d = 5), a population, and odd shapes: widths 8,
// 16 and 32 are where OpenBLAS may take its small-matrix kernels; 20,000 rows are a probe's
// long reduction, whose dW is split into blocks of input columns (600 = 2 x 256 + 88).
const std::vector<Dims> kShapes = {
    {1, 20000, 600, 7},  {2, 16384, 300, 3}, {1, 1024, 5, 50}, {1, 1024, 50, 250},
    {1, 1024, 250, 250}, {1, 1024, 250, 50}, {1, 1024, 50, 5}, {1, 1024, 5, 100},
    {1, 1024, 5, 1000},  {3, 200, 50, 250},  {4, 300, 5, 100}, {2, 197, 13, 16},
    {3, 131, 32, 8},     {1, 777, 16, 32},
};

std::string name(const Dims& d) {
  return "K=" + std::to_string(d.K) + " rows=" + std::to_string(d.rows) + " " +
         std::to_string(d.in) + "->" + std::to_string(d.out);
}

TEST(Threads, LinearForwardGivesTheSameBits) {
  for (const Dims& d : kShapes) {
    const LinearShape s{d.K, d.rows, d.in, d.out};
    const auto x = uniforms(d.K * d.rows * d.in, 1), w = uniforms(int64_t{d.K} * d.out * d.in, 2),
               b = uniforms(int64_t{d.K} * d.out, 3);
    for (const bool bias : {true, false})
      expect_same_bits(name(d), {std::vector<float>(d.K * d.rows * d.out)},
                       [&](cpu::ThreadPool& pool, auto& o) {
                         cpu::linear_forward(s, x.data(), w.data(), bias ? b.data() : nullptr,
                                             o[0].data(), pool);
                       });
  }
}

TEST(Threads, LinearBackwardGivesTheSameBits) {
  for (const Dims& d : kShapes) {
    const LinearShape s{d.K, d.rows, d.in, d.out};
    const auto x = uniforms(d.K * d.rows * d.in, 4), w = uniforms(int64_t{d.K} * d.out * d.in, 5),
               dy = uniforms(d.K * d.rows * d.out, 6);
    expect_same_bits(name(d),
                     {std::vector<float>(x.size()), std::vector<float>(w.size()),
                      std::vector<float>(int64_t{d.K} * d.out)},
                     [&](cpu::ThreadPool& pool, auto& o) {
                       cpu::linear_backward(s, x.data(), w.data(), dy.data(), o[0].data(),
                                            o[1].data(), o[2].data(), pool);
                     });
  }
}

TEST(Threads, BatchNormGivesTheSameBits) {
  for (const Dims& d : kShapes) {
    const BatchNormShape s{d.K, d.rows, d.out};
    const size_t n = d.K * d.rows * d.out, kw = static_cast<size_t>(d.K) * d.out;
    const auto h = uniforms(n, 7, -2, 3), gamma = uniforms(kw, 8, 0.5f, 1.5f),
               beta = uniforms(kw, 9), da = uniforms(n, 10), bias = uniforms(kw, 11);
    // With a folded bias and its gradient (o[9]), as the layer stack calls them.
    expect_same_bits(
        name(d),
        {std::vector<float>(n), std::vector<float>(kw), std::vector<float>(kw),
         std::vector<float>(kw, 0.0f), std::vector<float>(kw, 1.0f), std::vector<float>(n),
         std::vector<float>(kw), std::vector<float>(kw), std::vector<float>(n),
         std::vector<float>(kw)},
        [&](cpu::ThreadPool& pool, auto& o) {
          cpu::batchnorm_act_forward_train(s, h.data(), bias.data(), gamma.data(), beta.data(),
                                           o[0].data(), o[1].data(), o[2].data(), o[3].data(),
                                           o[4].data(), pool);
          cpu::batchnorm_act_backward(s, h.data(), bias.data(), o[0].data(), gamma.data(),
                                      o[1].data(), o[2].data(), da.data(), o[5].data(), o[9].data(),
                                      o[6].data(), o[7].data(), pool);
          cpu::batchnorm_act_forward_eval(s, h.data(), bias.data(), gamma.data(), beta.data(),
                                          o[3].data(), o[4].data(), o[8].data(), pool);
        });
  }
}

TEST(Threads, SoftmaxCrossEntropyGivesTheSameBits) {
  for (const Dims& d : kShapes) {
    const XentShape s{d.K, d.rows, d.out};
    const auto logits = uniforms(d.K * d.rows * d.out, 11, -4, 4);
    std::vector<int32_t> labels(static_cast<size_t>(d.K * d.rows));
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int32_t>(i * 7919 % d.out);
    for (const bool grad : {true, false})
      expect_same_bits(name(d), {logits, std::vector<float>(d.K), std::vector<float>(d.K)},
                       [&](cpu::ThreadPool& pool, auto& o) {
                         cpu::softmax_xent(s, o[0].data(), labels.data(), o[1].data(), o[2].data(),
                                           grad, pool);
                       });
  }
}

TEST(Threads, NormalizeAndAdamGiveTheSameBits) {
  for (const Dims& d : kShapes) {
    const int64_t rows = d.K * d.rows;
    const size_t n = rows * d.out;
    const auto x = uniforms(n, 12), dy = uniforms(n, 13);
    expect_same_bits(
        name(d), {std::vector<float>(n), std::vector<float>(rows), std::vector<float>(n)},
        [&](cpu::ThreadPool& pool, auto& o) {
          cpu::normalize_rows_forward(rows, d.out, x.data(), o[0].data(), o[1].data(), pool);
          cpu::normalize_rows_backward(rows, d.out, o[0].data(), o[1].data(), dy.data(),
                                       o[2].data(), pool);
        });
    const auto grad = uniforms(n, 14);
    expect_same_bits(name(d), {uniforms(n, 15), std::vector<float>(n, 0.0f), uniforms(n, 16, 0, 1)},
                     [&](cpu::ThreadPool& pool, auto& o) {
                       AdamParams a;
                       a.step = 3;
                       cpu::adam(static_cast<int64_t>(n), o[0].data(), grad.data(), o[1].data(),
                                 o[2].data(), a, nullptr, pool);
                     });
  }
}

TEST(Threads, PoolCoversEveryTaskOnce) {
  for (int threads : {1, 2, 3, 5}) {
    cpu::ThreadPool pool(threads);
    for (int64_t tasks : {0, 1, 2, 3, 7, 100, 1001}) {
      for (int64_t grain : {1, 4, 1000}) {
        std::vector<int> hits(static_cast<size_t>(tasks), 0);
        pool.run(tasks, grain, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) ++hits[i];
        });
        for (int64_t i = 0; i < tasks; ++i) ASSERT_EQ(hits[i], 1) << threads << " " << tasks;
      }
    }
  }
}

TEST(Threads, AnExceptionInAnyBlockReachesTheCaller) {
  cpu::ThreadPool pool(3);
  for (int64_t bad : {0, 50, 99}) {
    std::vector<int> hits(100, 0);
    try {
      pool.run(100, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          if (i == bad) throw std::runtime_error("task " + std::to_string(i));
          ++hits[i];
        }
      });
      ADD_FAILURE() << "no exception for task " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), "task " + std::to_string(bad));
    }
    // The pool still works afterwards.
    int64_t sum = 0;
    std::vector<int64_t> part(3, 0);
    pool.run(3, 1, [&](int64_t b, int64_t) { part[b] = b + 1; });
    for (int64_t v : part) sum += v;
    EXPECT_EQ(sum, 6);
  }
}

TEST(Threads, NestedRunsRunOnTheirCaller) {
  cpu::ThreadPool pool(3);
  std::vector<int> hits(300, 0);
  pool.run(3, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.run(100, 1, [&](int64_t b2, int64_t e2) {
        for (int64_t j = b2; j < e2; ++j) ++hits[i * 100 + j];
      });
  });
  for (int h : hits) EXPECT_EQ(h, 1);
}

}  // namespace
}  // namespace xent
