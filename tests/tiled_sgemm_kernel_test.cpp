// bench/tiled_sgemm.cu, the SGEMM the GPU bench compares cuBLAS to, against
// xent::cpu::linear_forward / linear_backward.
//
// Tolerance of the GEMMs. The kernel sums each output's P products serially in float; OpenBLAS
// in its own blocked order, either side with or without FMA. For any such order the error of
// a float dot product is at most gamma_P * sum_p |a_p b_p|, gamma_P = P u / (1 - P u), u = 2^-24
// (Higham, Accuracy and Stability of Numerical Algorithms, 3.1): the two results differ by at
// most 2 gamma_P sum|ab| ~ P eps sum|ab| with eps = 2^-23. Adding the bias rounds once more
// on each side, at most eps (sum|ab| + |b|) together. So
//     |got - want| <= c eps (sum_p |a_p b_p| + |b|),   c = P + 2,
// with the sum computed here in double. It is a worst-case bound, so it holds on the GPU too,
// and still catches real bugs: one product missing or misplaced moves an output by about
// sum|ab| / P, which for the P <= 300 tested is 30 times more than c eps sum|ab|.
//
// db is summed in double on both sides (different orders, each within rows * 2^-53 * sum|dy|
// of exact), then rounded to float once: they differ by at most one float rounding, eps |want|,
// plus twice that double error.
#include "kernel_harness.h"
//
#include <cmath>
#include <cstdint>
#include <random>

#include "bench/tiled_sgemm.h"
#include "cpu/ops.h"

namespace {

using xent::LinearShape;
using xent::test::DeviceVector;
using xent::test::uniforms;

using xent::test::count;
using xent::test::kEpsDouble;
using xent::test::kEpsFloat;

// For C[k][m][n] = sum_p A(k, m, p) B(k, p, n): sum_p |A B| per element, in double.
template <class A, class B>
std::vector<double> abs_products(int K, int64_t M, int64_t N, int64_t P, A a, B b) {
  std::vector<double> out(count(K, M, N), 0.0);
  for (int k = 0; k < K; ++k)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0.0;
        for (int64_t p = 0; p < P; ++p)
          s += std::fabs(static_cast<double>(a(k, m, p)) * static_cast<double>(b(k, p, n)));
        out[(k * M + m) * N + n] = s;
      }
  return out;
}

void expect_within(const std::vector<float>& got, const std::vector<float>& want,
                   const std::vector<double>& scale, int64_t P, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  const double c = static_cast<double>(P) + 2.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = c * kEpsFloat * scale[i];
    ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want[i]), tol)
        << what << " i=" << i << " got " << got[i] << " want " << want[i];
  }
}

std::string describe(const LinearShape& s) {
  return "K=" + std::to_string(s.K) + " rows=" + std::to_string(s.rows) +
         " in=" + std::to_string(s.in) + " out=" + std::to_string(s.out);
}

void check_forward(const LinearShape& s, bool with_bias) {
  const std::vector<float> x = uniforms(count(s.K, s.rows, s.in), 1);
  const std::vector<float> w = uniforms(count(s.K, s.out, s.in), 2);
  const std::vector<float> b = uniforms(count(s.K, s.out), 3);
  const float* bias = with_bias ? b.data() : nullptr;
  std::vector<float> want(count(s.K, s.rows, s.out));
  xent::cpu::linear_forward(s, x.data(), w.data(), bias, want.data());

  DeviceVector<float> d_x(x), d_w(w), d_b(b), d_y(want.size());
  xent::bench::tiled_linear_forward(s, d_x.get(), d_w.get(), with_bias ? d_b.get() : nullptr,
                                    d_y.get(), nullptr);
  const std::vector<float> got = d_y.download();

  std::vector<double> scale = abs_products(
      s.K, s.rows, s.out, s.in,
      [&](int k, int64_t r, int64_t p) { return x[(k * s.rows + r) * s.in + p]; },
      [&](int k, int64_t p, int64_t o) { return w[(int64_t{k} * s.out + o) * s.in + p]; });
  if (with_bias)
    for (size_t i = 0; i < scale.size(); ++i) {
      const size_t k = i / count(s.rows, s.out), o = i % static_cast<size_t>(s.out);
      scale[i] += std::fabs(b[k * static_cast<size_t>(s.out) + o]);
    }
  expect_within(got, want, scale, s.in, "y " + describe(s));
}

void check_backward(const LinearShape& s, bool with_dx, bool with_db) {
  const std::vector<float> x = uniforms(count(s.K, s.rows, s.in), 4);
  const std::vector<float> w = uniforms(count(s.K, s.out, s.in), 5);
  const std::vector<float> dy = uniforms(count(s.K, s.rows, s.out), 6);
  std::vector<float> want_dx(count(s.K, s.rows, s.in)), want_dw(count(s.K, s.out, s.in)),
      want_db(count(s.K, s.out));
  xent::cpu::linear_backward(s, x.data(), w.data(), dy.data(), with_dx ? want_dx.data() : nullptr,
                             want_dw.data(), with_db ? want_db.data() : nullptr);

  DeviceVector<float> d_x(x), d_w(w), d_dy(dy), d_dx(want_dx.size()), d_dw(want_dw.size()),
      d_db(want_db.size());
  xent::bench::tiled_linear_backward(s, d_x.get(), d_w.get(), d_dy.get(),
                                     with_dx ? d_dx.get() : nullptr, d_dw.get(),
                                     with_db ? d_db.get() : nullptr, nullptr);

  auto dy_at = [&](int k, int64_t r, int64_t o) { return dy[(k * s.rows + r) * s.out + o]; };
  if (with_dx) {
    const std::vector<double> scale = abs_products(
        s.K, s.rows, s.in, s.out, dy_at,
        [&](int k, int64_t o, int64_t i) { return w[(int64_t{k} * s.out + o) * s.in + i]; });
    expect_within(d_dx.download(), want_dx, scale, s.out, "dx " + describe(s));
  }
  const std::vector<double> scale = abs_products(
      s.K, s.out, s.in, s.rows, [&](int k, int64_t o, int64_t r) { return dy_at(k, r, o); },
      [&](int k, int64_t r, int64_t i) { return x[(k * s.rows + r) * s.in + i]; });
  expect_within(d_dw.download(), want_dw, scale, s.rows, "dW " + describe(s));
  if (with_db) {
    const std::vector<float> got = d_db.download();
    for (int k = 0; k < s.K; ++k)
      for (int o = 0; o < s.out; ++o) {
        double abs_sum = 0.0;
        for (int64_t r = 0; r < s.rows; ++r) abs_sum += std::fabs(dy_at(k, r, o));
        const size_t i = count(k, s.out) + static_cast<size_t>(o);
        const double tol = kEpsFloat * std::fabs(want_db[i]) +
                           2.0 * static_cast<double>(s.rows) * kEpsDouble * abs_sum;
        ASSERT_LE(std::fabs(static_cast<double>(got[i]) - want_db[i]), tol)
            << "db " << describe(s) << " k=" << k << " o=" << o;
      }
  }
}

// Ragged against the 64 x 64 tiles and the 16-deep reduction slices, single rows and columns,
// and a head-like layer (few inputs, many classes).
const std::vector<LinearShape> kShapes = {
    {1, 1, 1, 1},    {1, 3, 5, 7},      {2, 63, 65, 130},  {3, 130, 63, 1},
    {1, 65, 200, 3}, {2, 300, 130, 65}, {1, 70, 20, 1000},
};

TEST(TiledSgemmKernel, ForwardMatchesCpuWithAndWithoutBias) {
  XENT_REQUIRE_DEVICE();
  for (const LinearShape& s : kShapes) {
    check_forward(s, true);
    check_forward(s, false);
  }
}

TEST(TiledSgemmKernel, BackwardMatchesCpu) {
  XENT_REQUIRE_DEVICE();
  for (const LinearShape& s : kShapes) check_backward(s, true, true);
}

TEST(TiledSgemmKernel, BackwardSkipsNullDxAndDb) {
  XENT_REQUIRE_DEVICE();
  check_backward({2, 65, 17, 33}, false, true);
  check_backward({2, 65, 17, 33}, true, false);
  check_backward({1, 5, 3, 2}, false, false);
}

TEST(TiledSgemmKernel, ZeroRowsGiveZeroGradients) {
  XENT_REQUIRE_DEVICE();
  // No batch: dW and db are empty sums (exactly zero); y and dx have no elements to write.
  const LinearShape s{2, 0, 3, 4};
  DeviceVector<float> d_w(uniforms(count(s.K, s.out, s.in), 7)), d_dw(count(s.K, s.out, s.in)),
      d_db(count(s.K, s.out));
  xent::bench::tiled_linear_forward(s, nullptr, d_w.get(), nullptr, nullptr, nullptr);
  xent::bench::tiled_linear_backward(s, nullptr, d_w.get(), nullptr, nullptr, d_dw.get(),
                                     d_db.get(), nullptr);
  for (float v : d_dw.download()) ASSERT_EQ(xent::test::float_bits(v), 0u);
  for (float v : d_db.download()) ASSERT_EQ(xent::test::float_bits(v), 0u);
}

// Each output is one thread's serial sum, so the bits cannot depend on how the threads are
// scheduled: the same launch under a racing order gives the same bits as the default order.
TEST(TiledSgemmKernel, DeterministicAcrossRunsAndSchedules) {
  XENT_REQUIRE_DEVICE();
  const LinearShape s{2, 100, 70, 90};
  DeviceVector<float> d_x(uniforms(count(s.K, s.rows, s.in), 8)),
      d_w(uniforms(count(s.K, s.out, s.in), 9)), d_b(uniforms(count(s.K, s.out), 10)),
      d_dy(uniforms(count(s.K, s.rows, s.out), 11)), d_y(count(s.K, s.rows, s.out)),
      d_dx(count(s.K, s.rows, s.in)), d_dw(count(s.K, s.out, s.in)), d_db(count(s.K, s.out));
  auto run = [&] {
    xent::bench::tiled_linear_forward(s, d_x.get(), d_w.get(), d_b.get(), d_y.get(), nullptr);
    xent::bench::tiled_linear_backward(s, d_x.get(), d_w.get(), d_dy.get(), d_dx.get(), d_dw.get(),
                                       d_db.get(), nullptr);
    std::vector<std::vector<float>> out = {d_y.download(), d_dx.download(), d_dw.download(),
                                           d_db.download()};
    return out;
  };
  const auto first = run();
  std::vector<std::vector<std::vector<float>>> others;
  others.push_back(run());
#if defined(XENT_EMULATED)
  using xent::simt::Schedule;
  for (Schedule order : {Schedule::kReversed, Schedule::kRandom}) {
    xent::simt::ScopedSchedule scoped({order, 7});
    others.push_back(run());
  }
#endif
  for (const auto& other : others)
    for (size_t t = 0; t < first.size(); ++t)
      for (size_t i = 0; i < first[t].size(); ++i)
        ASSERT_EQ(xent::test::float_bits(other[t][i]), xent::test::float_bits(first[t][i]))
            << "output " << t << " i=" << i;
}

}  // namespace
