"""Per-workload speedups over a reference submission, with bootstrap intervals over studies.

For a submission s and workload w, the speedup is the reference's median time (or steps) to
target divided by s's, a miss counting as the budget + 1 (`profiles.workload_speedups`, the
rule of the leaderboard's geometric-mean speedup). Its interval comes from the same bootstrap
as the leaderboard's: each replicate resamples every (submission, workload)'s studies with
replacement, takes the medians, and divides; the interval is the central 95 % of the
replicates. A cell without logs (or whose reference has none) has no speedup (nan).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from scoring import bootstrap as bootstrap_lib
from scoring import profiles
from scoring import studies as studies_lib


@dataclasses.dataclass(frozen=True)
class WorkloadSpeedups:
  """Speedups over the reference, submission x workload (nan: no logs).

  Attributes:
    speedup: reference median / submission median.
    low, high: the bounds of its bootstrap interval; None without a bootstrap.
  """

  speedup: pd.DataFrame
  low: pd.DataFrame | None
  high: pd.DataFrame | None

  def in_order(self, submissions) -> WorkloadSpeedups:
    """The same with its rows in the order of `submissions`."""
    return WorkloadSpeedups(*(None if f is None else f.loc[submissions]
                              for f in (self.speedup, self.low, self.high)))


def speedup_arrays(values: np.ndarray, reference: int, fill: np.ndarray, replicates: int = 0,
                   seed: int = 0, level: float = 0.95,
                   ) -> tuple[np.ndarray, bootstrap_lib.Interval | None]:
  """Per-workload speedups of the study medians, and their bootstrap interval.

  Args:
    values: (submissions, workloads, studies) per-study times (or steps) to target, inf for
      a miss, nan throughout for a cell without logs.
    reference: index of the reference submission.
    fill: (workloads,) what a miss counts as (the budget + 1).
    replicates: bootstrap replicates (0: no interval).
    seed: the bootstrap's seed.
    level: the coverage of the interval.

  Returns:
    ((submissions, workloads) speedups, their interval or None).
  """
  no_logs = np.isnan(values).all(axis=-1)
  no_logs = no_logs | no_logs[reference:reference + 1]

  def speedups(medians: np.ndarray) -> np.ndarray:
    return np.where(no_logs, np.nan, profiles.workload_speedups(medians, reference, fill))

  point = speedups(studies_lib.medians(values))
  if replicates <= 0:
    return point, None
  resampled = bootstrap_lib.resample_medians(values, replicates, np.random.default_rng(seed))
  return point, bootstrap_lib.interval(speedups(resampled), level)


def workload_speedups(values: np.ndarray, submissions, workloads, reference: int,
                      fill: np.ndarray, replicates: int = 0, seed: int = 0,
                      ) -> WorkloadSpeedups:
  """`speedup_arrays` as submission x workload frames (see its arguments)."""
  point, interval = speedup_arrays(values, reference, fill, replicates, seed)

  def frame(array: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(array, index=pd.Index(submissions, name='submission'),
                        columns=list(workloads))

  if interval is None:
    return WorkloadSpeedups(frame(point), None, None)
  return WorkloadSpeedups(frame(point), frame(interval.low), frame(interval.high))


def long_frame(by_measure: dict[str, WorkloadSpeedups]) -> pd.DataFrame:
  """One row per (measure, submission, workload) with a speedup: speedup (low, high)."""
  rows = []
  for measure, found in by_measure.items():
    for submission in found.speedup.index:
      for workload in found.speedup.columns:
        value = found.speedup.loc[submission, workload]
        if np.isnan(value):
          continue
        row = {'measure': measure, 'submission': submission, 'workload': workload,
               'speedup': value}
        if found.low is not None:
          row['low'] = found.low.loc[submission, workload]
          row['high'] = found.high.loc[submission, workload]
        rows.append(row)
  return pd.DataFrame(rows).set_index(['measure', 'submission', 'workload'])
