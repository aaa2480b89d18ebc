"""Performance profiles, benchmark scores and speedups, on matrices of per-workload times.

For a submission s and workload w with time t[s, w], the ratio r[s, w] = t[s, w] / best[w]
(best over the submissions scored, or the time of a reference submission). The performance
profile rho_s(tau) is the fraction of the scored workloads with r <= tau; the benchmark score
is its area over tau in [1, tau_max] divided by tau_max - 1, by the trapezoid rule on
`num_points` linearly spaced taus, as AlgoPerf computes it (Dolan and Moré 2002; Dahl et al.
2023). All functions take arrays of shape (..., submissions, workloads).
"""

from __future__ import annotations

import numpy as np


def taus(tau_max: float = 4.0, num_points: int = 100) -> np.ndarray:
  """The `num_points` linearly spaced taus in [1, tau_max] on which scores are integrated."""
  return np.linspace(1.0, tau_max, num_points)


def ratios(times: np.ndarray, reference: int | None = None) -> np.ndarray:
  """Each time divided by the best time of its workload (or the reference's time).

  Args:
    times: (..., submissions, workloads), inf for a miss.
    reference: index of the reference submission on the submissions axis; None: the best.

  Returns:
    The ratios: inf where the time is infinite (or nan); 0 where only the denominator is
    (a submission that reached a target its reference missed, as AlgoPerf's division gives).

  >>> ratios(np.array([[2., np.inf], [4., 3.]])).tolist()
  [[1.0, inf], [2.0, 1.0]]
  """
  t = np.asarray(times, dtype=np.float64)
  if reference is None:
    denominator = t.min(axis=-2, keepdims=True)
  else:
    denominator = t[..., reference:reference + 1, :]
  with np.errstate(invalid='ignore', divide='ignore'):
    r = t / denominator
  return np.where(np.isfinite(r), r, np.inf)


def profile(r: np.ndarray, tau: np.ndarray) -> np.ndarray:
  """rho(tau): the fraction of workloads with ratio <= tau.

  Args:
    r: (..., submissions, workloads) ratios.
    tau: (points,) the taus.

  Returns:
    (..., submissions, points).

  >>> profile(np.array([[1., 2., np.inf, 1.5]]), np.array([1., 2.])).tolist()
  [[0.25, 0.75]]
  """
  return (r[..., :, None] <= tau).mean(axis=-2)


def benchmark_score(r: np.ndarray, tau_max: float = 4.0, num_points: int = 100) -> np.ndarray:
  """The area under the profile for tau in [1, tau_max], divided by tau_max - 1.

  Args:
    r: (..., submissions, workloads) ratios.
    tau_max: the upper end of the tau range.
    num_points: points of the trapezoid rule.

  Returns:
    (..., submissions) scores in [0, 1]: 1 for a submission fastest on every workload.

  >>> benchmark_score(np.array([[1., 1.], [np.inf, np.inf]])).tolist()
  [1.0, 0.0]
  """
  tau = taus(tau_max, num_points)
  return np.trapezoid(profile(r, tau), x=tau, axis=-1) / (tau_max - 1.0)


def workload_speedups(times: np.ndarray, reference: int, fill: np.ndarray) -> np.ndarray:
  """Each workload's reference time / time (> 1: faster than the reference).

  As AlgoPerf's `compute_speedups.py`, a miss counts as `fill` (the budget + 1 s there), so
  that a workload missed by both counts as no speedup and one missed only by the submission
  as a speedup of at most reference time / (budget + 1).

  Args:
    times: (..., submissions, workloads), inf or nan for a miss.
    reference: index of the reference submission.
    fill: (workloads,) the value that replaces a miss.

  Returns:
    (..., submissions, workloads) speedups; the reference's are 1.

  >>> workload_speedups(np.array([[4., 9.], [1., np.inf]]), 0, np.array([10., 10.])).tolist()
  [[1.0, 1.0], [4.0, 0.9]]
  """
  t = np.asarray(times, dtype=np.float64)
  t = np.where(np.isfinite(t), t, np.broadcast_to(fill, t.shape))
  return t[..., reference:reference + 1, :] / t


def geomean_speedup(times: np.ndarray, reference: int, fill: np.ndarray) -> np.ndarray:
  """The geometric mean over workloads of `workload_speedups` (> 1: faster).

  Args:
    times: (..., submissions, workloads), inf or nan for a miss.
    reference: index of the reference submission.
    fill: (workloads,) the value that replaces a miss.

  Returns:
    (..., submissions) speedups; the reference's is 1.

  >>> geomean_speedup(np.array([[4., 9.], [1., 1.]]), 0, np.array([10., 10.])).tolist()
  [1.0, 6.0]
  """
  return np.exp(np.log(workload_speedups(times, reference, fill)).mean(axis=-1))
