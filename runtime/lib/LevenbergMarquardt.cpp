// Levenberg-Marquardt with Marquardt's diagonal scaling and Nielsen's damping
// update (K. Madsen, H. B. Nielsen, O. Tingleff, "Methods for non-linear
// least squares problems", 2nd ed., IMM DTU 2004, algorithm 3.16).

#include "LevenbergMarquardt.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace hafnia {
namespace lm {
namespace {

double SumOfSquares(const std::vector<double> &r) {
  double sum = 0;
  for (double v : r)
    sum += v * v;
  return sum;
}

// J^T J (n x n) and J^T r (n) of a row-major m x n Jacobian.
void Normal(const std::vector<double> &jacobian, const std::vector<double> &r,
            size_t m, size_t n, std::vector<double> &jtj,
            std::vector<double> &jtr) {
  jtj.assign(n * n, 0);
  jtr.assign(n, 0);
  for (size_t i = 0; i < m; ++i) {
    const double *row = &jacobian[i * n];
    for (size_t a = 0; a < n; ++a) {
      jtr[a] += row[a] * r[i];
      for (size_t b = 0; b <= a; ++b)
        jtj[a * n + b] += row[a] * row[b];
    }
  }
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < a; ++b)
      jtj[b * n + a] = jtj[a * n + b];
}

// The lower Cholesky factor of A in place; false when A is not positive
// definite.
bool Cholesky(std::vector<double> &a, size_t n) {
  for (size_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (size_t k = 0; k < j; ++k)
      d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0) || !std::isfinite(d))
      return false;
    d = std::sqrt(d);
    a[j * n + j] = d;
    for (size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (size_t k = 0; k < j; ++k)
        s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / d;
    }
  }
  return true;
}

void SolveFactored(const std::vector<double> &l, size_t n,
                   std::vector<double> &b) {
  for (size_t i = 0; i < n; ++i) {
    double s = b[i];
    for (size_t k = 0; k < i; ++k)
      s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k)
      s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}

} // namespace

bool CholeskySolve(std::vector<double> a, size_t n, std::vector<double> &b) {
  if (!Cholesky(a, n))
    return false;
  SolveFactored(a, n, b);
  return true;
}

std::vector<double> InverseSpd(const std::vector<double> &a, size_t n) {
  std::vector<double> l = a;
  if (!Cholesky(l, n))
    return {};
  std::vector<double> inverse(n * n);
  for (size_t j = 0; j < n; ++j) {
    std::vector<double> e(n, 0);
    e[j] = 1;
    SolveFactored(l, n, e);
    for (size_t i = 0; i < n; ++i)
      inverse[i * n + j] = e[i];
  }
  return inverse;
}

bool Jacobian(const Residuals &f, const std::vector<double> &x, size_t m,
              std::vector<double> &jacobian) {
  const size_t n = x.size();
  jacobian.assign(m * n, 0);
  std::vector<double> center(m), up(m), down(m);
  bool have_center = false;
  for (size_t j = 0; j < n; ++j) {
    const double h = 1e-6 * std::max(1.0, std::fabs(x[j]));
    std::vector<double> xu = x, xd = x;
    xu[j] += h;
    xd[j] -= h;
    bool ok_up = f(xu, up), ok_down = f(xd, down);
    if (ok_up && ok_down) {
      for (size_t i = 0; i < m; ++i)
        jacobian[i * n + j] = (up[i] - down[i]) / (xu[j] - xd[j]);
      continue;
    }
    if (!have_center) {
      if (!f(x, center))
        return false;
      have_center = true;
    }
    if (ok_up) {
      for (size_t i = 0; i < m; ++i)
        jacobian[i * n + j] = (up[i] - center[i]) / (xu[j] - x[j]);
    } else if (ok_down) {
      for (size_t i = 0; i < m; ++i)
        jacobian[i * n + j] = (center[i] - down[i]) / (x[j] - xd[j]);
    } else {
      return false;
    }
  }
  return true;
}

absl::StatusOr<Result> Minimize(const Residuals &f, std::vector<double> start,
                                size_t m, const Options &options) {
  const size_t n = start.size();
  Result result;
  result.x = std::move(start);
  result.residuals.resize(m);
  if (!f(result.x, result.residuals))
    return absl::InvalidArgumentError(
        "the model cannot be evaluated at the starting point");
  result.cost = SumOfSquares(result.residuals);
  if (!Jacobian(f, result.x, m, result.jacobian))
    return absl::InvalidArgumentError(
        "the model cannot be differentiated at the starting point");
  std::vector<double> jtj, jtr;
  Normal(result.jacobian, result.residuals, m, n, jtj, jtr);
  double largest = 0;
  for (size_t j = 0; j < n; ++j)
    largest = std::max(largest, jtj[j * n + j]);
  double mu = options.initial_damping, nu = 2;
  std::vector<double> trial(m);
  auto finish = [&](bool converged, std::string stop) {
    result.converged = converged;
    result.stop = std::move(stop);
    return result;
  };
  for (result.iterations = 0; result.iterations < options.max_iterations;
       ++result.iterations) {
    if (result.cost == 0)
      return finish(true, "the residuals are zero");
    double gradient = 0;
    for (double g : jtr)
      gradient = std::max(gradient, std::fabs(g));
    if (gradient <= options.gradient_tolerance)
      return finish(true, "the gradient vanishes");
    // Marquardt's scaling: damp each direction by its own curvature, with a
    // floor for directions the data barely see.
    std::vector<double> scale(n);
    for (size_t j = 0; j < n; ++j)
      scale[j] = std::max(jtj[j * n + j], 1e-12 * std::max(largest, 1e-300));
    std::vector<double> a = jtj;
    for (size_t j = 0; j < n; ++j)
      a[j * n + j] += mu * scale[j];
    std::vector<double> step(n);
    for (size_t j = 0; j < n; ++j)
      step[j] = -jtr[j];
    if (!CholeskySolve(a, n, step)) {
      mu *= nu;
      nu *= 2;
      if (mu > 1e30)
        return finish(false, "the normal equations are singular");
      continue;
    }
    double step_norm = 0, x_norm = 0;
    for (size_t j = 0; j < n; ++j) {
      step_norm += step[j] * step[j];
      x_norm += result.x[j] * result.x[j];
    }
    step_norm = std::sqrt(step_norm);
    x_norm = std::sqrt(x_norm);
    if (step_norm <= options.step_tolerance * (x_norm + options.step_tolerance))
      return finish(true, "the steps vanish");
    std::vector<double> x = result.x;
    for (size_t j = 0; j < n; ++j)
      x[j] += step[j];
    bool inside = f(x, trial);
    double cost = inside ? SumOfSquares(trial) : HUGE_VAL;
    // The decrease the linear model predicts, in units of the cost (the sum
    // of squares): h^T (mu D h - J^T r).
    double predicted = 0;
    for (size_t j = 0; j < n; ++j)
      predicted += step[j] * (mu * scale[j] * step[j] - jtr[j]);
    double actual = result.cost - cost;
    double rho = predicted > 0 ? actual / predicted : -1;
    if (inside && rho > 0) {
      result.x = std::move(x);
      result.residuals = trial;
      double previous = result.cost;
      result.cost = cost;
      if (!Jacobian(f, result.x, m, result.jacobian))
        return finish(false, "the model cannot be differentiated");
      Normal(result.jacobian, result.residuals, m, n, jtj, jtr);
      double t = 2 * rho - 1;
      mu *= std::max(1.0 / 3, 1 - t * t * t);
      nu = 2;
      if (actual <= options.cost_tolerance * previous &&
          predicted <= options.cost_tolerance * previous) {
        ++result.iterations;
        return finish(true, "the cost no longer decreases");
      }
    } else {
      mu *= nu;
      nu *= 2;
      if (mu > 1e30)
        return finish(true, "no step lowers the cost");
    }
  }
  return finish(false, absl::StrCat("stopped after ", options.max_iterations,
                                    " iterations"));
}

} // namespace lm
} // namespace hafnia
