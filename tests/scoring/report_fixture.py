"""A folder of hand-made logs that exercises every part of the report, and its leaderboard.

Two workloads (ogbg, wmt; v0.6), three studies of two trials each:
* `base` (the reference) reaches ogbg at 40 s and wmt at 30 s in every study; in study 0
  of ogbg its trial 2 reaches the target in fewer evals than its trial 1.
* `avg` is slower raw (50 s on ogbg, its trial 2) but logs an average `ema` that reaches
  ogbg at 20 s in its trial 1: the average's best trial is not the raw weights'. It never
  reaches wmt in study 2 (its trial 1 comes closer than its trial 2), and reaches it at
  50 s in the others.
* `slow` misses ogbg in two of three studies (a median miss) and has no wmt logs.
"""

from __future__ import annotations

from pathlib import Path

from scoring import score_logs
from tests.scoring import helpers

WORKLOADS = ('ogbg', 'wmt')
TIMES = [10.0 * (i + 1) for i in range(8)]


def _values(workload: str, first: int | None, shortfall: float = 0.0) -> list[float]:
  """Values reaching the target at eval `first` (None: never, `shortfall` below it)."""
  values = helpers.values_reaching(workload, first, len(TIMES), 'v0.6')
  return values if first is not None else [v - shortfall for v in values]


def write_logs(root: Path) -> Path:
  """Writes the logs described in the module docstring under `root`; returns `root`."""
  for study in range(3):
    for trial, first in ((1, 4 if study == 0 else 3), (2, 3 if study == 0 else 5)):
      helpers.write_trial(root, 'base', 'ogbg', TIMES, _values('ogbg', first), study, trial,
                          rules='v0.6')
    for trial in (1, 2):
      helpers.write_trial(root, 'base', 'wmt', TIMES, _values('wmt', 2), study, trial,
                          rules='v0.6')
      helpers.write_trial(root, 'avg', 'ogbg', TIMES, _values('ogbg', 6 - trial), study, trial,
                          averages={'ema': _values('ogbg', 2 * trial - 1)}, rules='v0.6')
      wmt_first = None if study == 2 else 4
      helpers.write_trial(root, 'avg', 'wmt', TIMES,
                          _values('wmt', wmt_first, shortfall=trial * 0.5), study, trial,
                          averages={'ema': _values('wmt', wmt_first, shortfall=1.0)},
                          rules='v0.6')
      slow_first = 7 if study == 0 else None
      helpers.write_trial(root, 'slow', 'ogbg', TIMES, _values('ogbg', slow_first), study,
                          trial, rules='v0.6')
  return root


def leaderboard(root: Path, bootstrap: int = 200):
  """The leaderboard of `write_logs(root)` as `avgperf suite` scores a folder."""
  return score_logs(root, rules='v0.6', workloads=WORKLOADS, num_studies=3, num_trials=2,
                    reference='base', bootstrap=bootstrap, seed=0, averages=True)
