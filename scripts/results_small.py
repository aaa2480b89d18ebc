"""Does the harness reproduce the science? Writes docs/results-small.md from a scored run of
the `small` suite: for each submission, steps- and time-to-target relative to the baseline
per workload with 95% bootstrap intervals over studies, and a verdict on each claim of the
literature that the suite's submissions can test.

    avgperf suite --suite=small --submissions=baseline,nadamw_ema,nadamw_lawa,wsd,\\
        nadamw_swa,nadamw_twa,schedule_free_adamw --num_studies=3 --experiment_dir=D
    python scripts/results_small.py D [--out docs/results-small.md]

A ratio is the submission's median (over studies) steps or seconds to the target divided by
the baseline's, a miss counting as the step hint (or budget) + 1; below 1 is faster.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scoring  # pylint: disable=g-import-not-at-top
from configs import suites  # pylint: disable=g-import-not-at-top

# (claim, source, submissions whose ratio to the baseline tests it, expected ratio or the
# submission it is compared with).
CLAIMS = (
    ('Averaging with learning-rate decay reaches targets in about 82% of the baseline\'s '
     'steps', 'Ajroldi et al. 2025, AlgoPerf workloads (about 70% on a 124M LM)',
     ('nadamw_ema', 'nadamw_lawa'), 0.82),
    ('EMA and LAWA are about equal when tuned', 'Ajroldi et al. 2025',
     ('nadamw_ema',), 'nadamw_lawa'),
    ('WSD with a 20% 1-sqrt cooldown matches cosine', 'Hägele et al. 2024',
     ('wsd',), 1.0),
    ('TWA beats SWA', 'Li et al. (TWA)', ('nadamw_twa',), 'nadamw_swa'),
    ('Schedule-free matches a tuned cosine baseline', 'Defazio et al. 2024',
     ('schedule_free_adamw',), 1.0),
)


def _ratio_cell(speedups, submission: str, workload: str) -> str:
  value = 1.0 / speedups.speedup.loc[submission, workload]
  if not math.isfinite(value):
    return '–'
  if speedups.low is None:
    return f'{value:.2f}'
  low = 1.0 / speedups.high.loc[submission, workload]
  high = 1.0 / speedups.low.loc[submission, workload]
  return f'{value:.2f} [{low:.2f}, {high:.2f}]'


def _table(board, measure: str) -> list[str]:
  speedups = board.workload_speedups[measure]
  workloads = list(speedups.speedup.columns)
  lines = ['| submission | ' + ' | '.join(workloads) + ' | geometric mean |',
           '|---' * (len(workloads) + 2) + '|']
  for submission in speedups.speedup.index:
    if submission == board.reference:
      continue
    ratios = 1.0 / speedups.speedup.loc[submission].to_numpy(dtype=float)
    mean = float(np.exp(np.mean(np.log(ratios[np.isfinite(ratios)])))) if np.isfinite(
        ratios).any() else math.nan
    lines.append(f'| {submission} | ' + ' | '.join(
        _ratio_cell(speedups, submission, w) for w in workloads) + f' | {mean:.2f} |')
  return lines


def _geomean_ratio(board, submission: str, measure: str = 'steps') -> float:
  speedups = board.workload_speedups[measure].speedup
  if submission not in speedups.index:
    return math.nan
  ratios = 1.0 / speedups.loc[submission].to_numpy(dtype=float)
  ratios = ratios[np.isfinite(ratios)]
  return float(np.exp(np.mean(np.log(ratios)))) if len(ratios) else math.nan


def _verdicts(board) -> list[str]:
  lines = []
  for claim, source, subs, expected in CLAIMS:
    measured = {s: v for s in subs if not math.isnan(v := _geomean_ratio(board, s))}
    other = _geomean_ratio(board, expected) if isinstance(expected, str) else 0.0
    if not measured or math.isnan(other):
      needed = ', '.join(subs + ((expected,) if isinstance(expected, str) else ()))
      lines.append(f'- **{claim}** ({source}): not tested (the run needs {needed}).')
      continue
    if isinstance(expected, str):
      verdict = (f'{subs[0]} {measured[subs[0]]:.2f} against {expected} {other:.2f} of the '
                 f'baseline\'s steps (geometric mean over workloads)')
    else:
      verdict = ', '.join(f'{s} {v:.2f}' for s, v in measured.items())
      verdict += f' of the baseline\'s steps (geometric mean over workloads; claim: {expected:.2f})'
    lines.append(f'- **{claim}** ({source}): {verdict}.')
  return lines


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('experiment_dir')
  parser.add_argument('--out', default='docs/results-small.md')
  parser.add_argument('--bootstrap', type=int, default=1000)
  args = parser.parse_args()
  suite = suites.get('small')
  present = {t.workload for t in scoring.find_trials(args.experiment_dir)}
  workloads = tuple(w for w in suite.workloads if w in present)
  boards = {}
  for time_col in ('global_step', 'score'):
    boards[time_col] = scoring.score_logs(
        args.experiment_dir, rules=suite.rules, workloads=workloads, reference='baseline',
        bootstrap=args.bootstrap, time_col=time_col,
        num_studies=max(t.study for t in scoring.find_trials(args.experiment_dir)) + 1)
  board = boards['global_step']
  lines = ['# Does the harness reproduce the science? The `small` suite', '',
           f'Made by `python scripts/results_small.py {args.experiment_dir}` from a run of '
           f'{board.num_studies} studies on {len(workloads)} small workloads. Ratios are '
           'medians over studies relative to the baseline (below 1: faster), with 95% '
           'bootstrap intervals over studies; a miss counts as the step hint (or budget) + 1.',
           '', '## Steps to target, relative to the baseline', '',
           *_table(board, 'steps'), '', '## Time to target, relative to the baseline', '',
           *_table(boards['score'], 'time'), '', '## The literature\'s claims', '',
           *_verdicts(board), '']
  Path(args.out).write_text('\n'.join(lines))
  print(f'wrote {args.out}')


if __name__ == '__main__':
  main()
