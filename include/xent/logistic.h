// Binary logistic regressions, many fitted at once on one feature matrix: the classification
// probe (the paper's ImageNet-X experiment decodes binary factors this way).
//
// Fit f minimises scikit-learn's objective for LogisticRegression(penalty="l2", C) with sample
// weights s_f (a 0/1 weight selects a subsample of the shared rows):
//   L_f(w, b) = (1/S_f) sum_i s_fi [log(1 + e^{z_i}) - y_fi z_i] + ||w||^2 / (2 C S_f),
//   z_i = x_i . w + b,  S_f = sum_i s_fi  (the intercept b is not penalised),
// by L-BFGS from w = 0, b = 0 until max |grad L_f| <= gtol, the same stopping rule as
// scikit-learn's lbfgs (its tol, 1e-4 by default). Every evaluation is one GEMM for the logits of
// all fits, the backend's logistic_loss, and one GEMM for their gradients; the L-BFGS steps run
// on the host in double.
//
// With LogisticOptions::classes = C >= 3 the fits are multinomial (softmax) instead, scikit-
// learn's objective for the same estimator on a target of C classes (its over-parameterised
// multinomial: all C coefficient rows, none dropped):
//   L_f(W, b) = (1/S_f) sum_i s_fi [logsumexp(z_i) - z_i,y_fi] + ||W||^2 / (2 C S_f),
//   z_i = W x_i + b (C logits), W [C][p], b [C] (not penalised),
// by the same L-BFGS and stopping rule, with the backend's multinomial_loss in place of
// logistic_loss. From W = 0, b = 0 every iterate keeps sum_c W_c = 0 and sum_c b_c = 0 (every
// gradient does), which is also where scikit-learn's solution lies: its coefficients compare
// directly.
#pragma once
#include <cstdint>
#include <vector>

#include "xent/backend.h"

namespace xent {

struct LogisticOptions {
  double C = 1.0;       // inverse regularisation strength, scikit-learn's C
  double gtol = 1e-4;   // stop when max |gradient| <= gtol (scikit-learn's tol)
  int max_iter = 1000;  // L-BFGS iterations per fit at most
  int history = 10;     // L-BFGS memory (scipy's default)
  int classes = 2;      // 2: binary (labels 0/1); C >= 3: multinomial (labels 0 .. C-1)
};

struct LogisticFits {
  int fits = 0, p = 0;
  int classes = 2;                 // LogisticOptions::classes
  int coef_rows = 1;               // k: 1 when binary, else classes
  std::vector<double> coef;        // [fits][k][p]
  std::vector<double> intercept;   // [fits][k]
  std::vector<double> objective;   // [fits]: L_f at the solution
  std::vector<double> grad_max;    // [fits]: max |grad L_f| at the solution
  std::vector<int> iterations;     // [fits]
  std::vector<uint8_t> converged;  // [fits]: grad_max <= gtol (else max_iter or a failed search)
};

// x [n][p], labels and weights [n][fits] (labels 0 or 1, or class indices 0 .. classes-1 held
// as floats; weights >= 0), all float in backend memory. Throws InputError when a fit has no
// weight, on a label that is not a class, or on a bad shape or option.
LogisticFits fit_logistic(Backend& b, const float* x, int64_t n, int p, const float* labels,
                          const float* weights, int fits, const LogisticOptions& o = {});

}  // namespace xent
