// A small Levenberg-Marquardt least-squares minimizer for the device-model
// fit (DeviceFit.cpp): a handful of parameters, a few hundred residuals at
// most, a central-difference Jacobian. Why this
// and not a library: docs/device-model.md, "Fitting".

#ifndef HAFNIA_RUNTIME_LEVENBERGMARQUARDT_H
#define HAFNIA_RUNTIME_LEVENBERGMARQUARDT_H

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace hafnia {
namespace lm {

// Fills `residuals` (already sized to the problem's count) at `x`; false
// when x lies outside the model's domain or a residual is not finite.
using Residuals = std::function<bool(const std::vector<double> &x,
                                     std::vector<double> &residuals)>;

struct Options {
  int max_iterations = 500;
  // Converged when the largest gradient component |(J^T r)_j| is below
  // this, when a step is below step_tolerance * (|x| + step_tolerance), or
  // when an accepted step lowers the cost by less than cost_tolerance of it
  // (and predicted no more).
  double gradient_tolerance = 1e-14;
  double step_tolerance = 1e-12;
  double cost_tolerance = 1e-14;
  // The first damping, relative to the largest diagonal entry of J^T J.
  double initial_damping = 1e-3;
};

struct Result {
  std::vector<double> x;
  // The sum of the squared residuals at x.
  double cost = 0;
  std::vector<double> residuals;
  // The Jacobian at x, row-major (residuals x parameters).
  std::vector<double> jacobian;
  int iterations = 0;
  bool converged = false;
  // Why it stopped, for reports.
  std::string stop;
};

// The central-difference Jacobian of `f` at `x` (row-major, m x n), with
// steps of 1e-6 * max(1, |x_j|), one-sided where the other side is outside
// the domain. False when neither side is inside.
bool Jacobian(const Residuals &f, const std::vector<double> &x, size_t m,
              std::vector<double> &jacobian);

// Minimizes the sum of squares of the `m` residuals of `f` from `start`:
// Marquardt's scaling (damping proportional to diag(J^T J)) with Nielsen's
// update of the damping, solved by Cholesky. Fails when f fails at the start.
absl::StatusOr<Result> Minimize(const Residuals &f, std::vector<double> start,
                                size_t m, const Options &options = Options());

// Solves the symmetric positive-definite n x n system A x = b (row-major)
// in place of b by Cholesky; false when A is not positive definite.
bool CholeskySolve(std::vector<double> a, size_t n, std::vector<double> &b);

// The inverse of the symmetric positive-definite n x n matrix A, or an
// empty vector when it is not positive definite.
std::vector<double> InverseSpd(const std::vector<double> &a, size_t n);

} // namespace lm
} // namespace hafnia

#endif // HAFNIA_RUNTIME_LEVENBERGMARQUARDT_H
