"""Per-workload speedups over the reference and their bootstrap intervals, against hand
computations (an exact enumeration of the bootstrap distribution; medians by hand)."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from configs import workloads as workload_configs
from scoring import score_logs
from scoring import write_outputs
from scoring import speedups
from tests.scoring import helpers

INF = math.inf


def _exact_bootstrap_medians(studies):
  """{median of a resample: probability} over all len(studies)^len(studies) resamples."""
  n = len(studies)
  out = {}
  for draw in itertools.product(studies, repeat=n):
    m = float(np.median(draw))
    out[m] = out.get(m, 0.0) + 1 / n ** n
  return out


def _exact_quantile(distribution, q):
  """The smallest value whose cumulative probability reaches q."""
  total = 0.0
  for value, p in sorted(distribution.items()):
    total += p
    if total >= q - 1e-12:
      return value
  raise AssertionError('unreachable')


def test_speedup_and_interval_match_the_exact_bootstrap_distribution():
  reference, submission = [10.0, 20.0, 30.0], [5.0, 10.0, 20.0]
  # The ratio of two independently resampled medians: enumerate every pair.
  ratio = {}
  for (a, pa), (b, pb) in itertools.product(_exact_bootstrap_medians(reference).items(),
                                            _exact_bootstrap_medians(submission).items()):
    ratio[a / b] = ratio.get(a / b, 0.0) + pa * pb
  # The extreme ratios (10/20 and 30/5) each have (7/27)^2 = 6.7 % of the mass, so the
  # 2.5 % and 97.5 % quantiles sit on them, far from a boundary between atoms.
  assert _exact_quantile(ratio, 0.025) == 0.5 and _exact_quantile(ratio, 0.975) == 6.0
  values = np.array([[reference], [submission]])
  point, interval = speedups.speedup_arrays(values, 0, np.array([100.0]), replicates=4000)
  np.testing.assert_array_equal(point, [[1.0], [20.0 / 10.0]])
  np.testing.assert_array_equal(interval.low, [[1.0], [0.5]])
  np.testing.assert_array_equal(interval.high, [[1.0], [6.0]])


def test_misses_count_as_the_budget_plus_one_and_no_logs_as_no_speedup():
  values = np.array([[[10.0, 20.0, 30.0], [INF, INF, INF], [1.0, 1.0, 1.0]],
                     [[INF, INF, 5.0], [INF, 4.0, INF], [np.nan] * 3]])
  fill = np.array([100.0, 200.0, 300.0])
  point, interval = speedups.speedup_arrays(values, 0, fill, replicates=50)
  # Row 1: a median miss (100 + ... filled as 100) -> 20 / 100; both miss -> 200 / 200.
  np.testing.assert_array_equal(point, [[1.0, 1.0, 1.0], [20.0 / 100.0, 1.0, np.nan]])
  assert np.isnan(interval.low[1, 2]) and np.isnan(interval.high[1, 2])
  point, _ = speedups.speedup_arrays(values, 1, fill)
  assert np.isnan(point[0, 2])  # the reference has no logs of the third workload


def test_score_logs_gives_per_workload_speedups_by_time_and_steps(tmp_path):
  for study, (a, b, c) in enumerate([(30, 60, None), (40, 20, None), (50, 10, 90)]):
    helpers.write_reaching(tmp_path, 'a', 'ogbg', a, study=study, rules='v0.6')
    helpers.write_reaching(tmp_path, 'b', 'ogbg', b, study=study, rules='v0.6')
    helpers.write_reaching(tmp_path, 'c', 'ogbg', c, study=study, rules='v0.6')
    helpers.write_reaching(tmp_path, 'a', 'wmt', 30, study=study, rules='v0.6')
  board = score_logs(tmp_path, rules='v0.6', reference='a', bootstrap=200, seed=3)
  facts = workload_configs.facts('ogbg', 'v0.6')
  time, steps = board.workload_speedups['time'], board.workload_speedups['steps']
  # Medians by hand: a 40 s, b 20 s, c a miss (two of three studies missed).
  assert time.speedup.loc['b', 'ogbg'] == 40 / 20
  assert time.speedup.loc['c', 'ogbg'] == 40 / (facts.max_runtime_sec + 1)
  assert steps.speedup.loc['b', 'ogbg'] == 400 / 200  # helpers: 10 steps per second
  assert steps.speedup.loc['c', 'ogbg'] == 400 / (facts.step_hint + 1)
  assert np.isnan(time.speedup.loc['b', 'wmt'])  # b has no wmt logs
  assert time.speedup.loc['a', 'wmt'] == 1.0
  assert list(time.speedup.index) == list(board.scores.index)
  assert tmp_path / 'out' / 'workload_speedups.csv' in write_outputs(board, tmp_path / 'out')
  written = pd.read_csv(tmp_path / 'out' / 'workload_speedups.csv', index_col=[0, 1, 2])
  assert written.loc[('steps', 'c', 'ogbg'), 'speedup'] == steps.speedup.loc['c', 'ogbg']
  assert written.loc[('time', 'b', 'ogbg'), 'high'] == time.high.loc['b', 'ogbg']
  assert ('time', 'b', 'wmt') not in written.index
  b_low, b_high = time.low.loc['b', 'ogbg'], time.high.loc['b', 'ogbg']
  assert b_low <= 2.0 <= b_high and b_low < b_high
  # The geometric mean over the eight scored workloads of the per-workload rule is the
  # leaderboard's speedup: 2 on ogbg, a's 30 s / (budget + 1) on wmt (b has no logs there,
  # a miss), 1 on the six workloads neither has logs of.
  wmt_budget = workload_configs.facts('wmt', 'v0.6').max_runtime_sec
  assert board.scores.loc['b', 'speedup'] == pytest.approx(
      (2.0 * 30 / (wmt_budget + 1)) ** (1 / 8), rel=1e-12)


def test_averaged_weight_entries_get_speedups_too(tmp_path):
  for study in range(3):
    helpers.write_reaching(tmp_path, 'base', 'ogbg', 40, study=study, rules='v0.6')
    helpers.write_trial(tmp_path, 'avg', 'ogbg', [10.0 * (i + 1) for i in range(6)],
                        helpers.values_reaching('ogbg', 3, 6, 'v0.6'), study=study,
                        averages={'ema': helpers.values_reaching('ogbg', 1, 6, 'v0.6')},
                        rules='v0.6')
  board = score_logs(tmp_path, rules='v0.6', reference='base', averages=True)
  speedup = board.workload_speedups['time'].speedup['ogbg']
  assert speedup.to_dict() == {'base': 1.0, 'avg': 1.0, 'avg[ema]': 2.0}
  assert board.workload_speedups['time'].low is None  # no bootstrap, no interval


def test_no_reference_no_speedups(tmp_path):
  helpers.write_reaching(tmp_path, 'a', 'ogbg', 30, rules='v0.6')
  assert score_logs(tmp_path, rules='v0.6').workload_speedups == {}
