"""Time-to-target and steps-to-target: of a trial, of a study, of a workload.

* A trial reaches its target at the first eval whose validation metric reaches it (>= for a
  metric to maximise, <= for one to minimise). Its time-to-target is the `score` (seconds of
  timed training) at that eval, its steps-to-target the `global_step` there (the
  hardware-independent measure of Ajroldi et al. 2025). Both are infinite when the target is
  never reached, or reached after the budget (judged on time, the budget being in seconds).
* A study's result (external tuning) is that of its best trial: the one that reaches the
  target in the fewest evals (AlgoPerf's rule), among those the one with the least time (or
  steps, when scoring steps); this tie-break reproduces the published v0.5 scores. Under
  self-tuning a study has one trial.
* A workload's result is the median over studies, a missed study counting as infinite.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from avgperf import trial_files

INF = math.inf


@dataclasses.dataclass(frozen=True)
class Reached:
  """When a trial (or the best trial of a study) first reached its target.

  Attributes:
    evals: the number of evals up to and including the first that reached it (inf: never).
    time: time-to-target in seconds (inf: never, or over budget).
    steps: steps-to-target (inf: never, or over budget).
  """

  evals: float
  time: float
  steps: float

  @property
  def reached(self) -> bool:
    return math.isfinite(self.evals)


NEVER = Reached(INF, INF, INF)


def first_reached(values: np.ndarray, target: float, mode: str) -> int:
  """The index of the first value that reaches `target`, or -1.

  Args:
    values: the validation metric at each eval (nan never reaches).
    target: the validation target.
    mode: 'max' (reached when >= target) or 'min' (reached when <= target).

  Returns:
    The index, or -1 when no value reaches the target.

  >>> first_reached(np.array([0.1, 0.5, 0.7, 0.9]), 0.7, 'max')
  2
  """
  hit = trial_files.reached(values, target, mode)
  index = int(np.argmax(hit)) if len(hit) else 0
  return index if len(hit) and hit[index] else -1


def trial_reached(time: np.ndarray, steps: np.ndarray, metric: np.ndarray, target: float,
                  mode: str, budget_sec: float = INF) -> Reached:
  """When one trial reached its target, within `budget_sec` of timed training.

  Args:
    time: seconds of timed training at each eval.
    steps: global step at each eval.
    metric: validation metric at each eval.
    target: the validation target.
    mode: 'max' or 'min'.
    budget_sec: the runtime budget; a target reached later counts as never reached.

  Returns:
    The eval count, time and steps at the first eval that reached the target, or NEVER.

  >>> trial_reached(np.array([10., 20.]), np.array([5, 9]), np.array([.3, .1]), .2, 'min')
  Reached(evals=2, time=20.0, steps=9.0)
  """
  index = first_reached(metric, target, mode)
  if index < 0 or not time[index] <= budget_sec:
    return NEVER
  return Reached(index + 1, float(time[index]), float(steps[index]))


def best_trial_index(trials: Sequence[Reached], measure: str = 'time') -> int:
  """The index of the best trial of a study: the fewest evals to the target, then the least
  `measure` ('time' or 'steps'), then the first; -1 when none reached the target.

  >>> best_trial_index([NEVER, Reached(3, 30., 300.), Reached(2, 40., 200.)])
  2
  """
  reached = [i for i, t in enumerate(trials) if t.reached]
  if not reached:
    return -1
  return min(reached, key=lambda i: (trials[i].evals, getattr(trials[i], measure)))


def best_trial(trials: Sequence[Reached], measure: str = 'time') -> Reached:
  """The best trial of a study (`best_trial_index`), or NEVER when none reached the target.

  >>> best_trial([Reached(3, 30., 300.), Reached(2, 40., 200.)]).time
  40.0
  """
  index = best_trial_index(trials, measure)
  return trials[index] if index >= 0 else NEVER


def median_over_studies(values: Sequence[float], num_studies: int | None = None) -> float:
  """The median over studies, with studies short of `num_studies` counted as misses (inf).

  Args:
    values: one value per study present (inf for a miss).
    num_studies: the studies a complete submission has; None: only those present count.

  Returns:
    The median (inf if at least half are misses; inf when there are no studies at all).

  >>> median_over_studies([10.0, 30.0, math.inf])
  30.0
  """
  padded = list(values) + [INF] * max(0, (num_studies or 0) - len(values))
  return float(np.median(padded)) if padded else INF
