"""Does the harness reproduce the science? Writes docs/results-small.md from a run of the
`small` suite: for each submission, steps- and time-to-target relative to the baseline per
workload with 95% bootstrap intervals over studies, and a verdict on each claim of the
literature that the suite's submissions can test.

    avgperf suite --suite=small --experiment_dir=D [--budget_factor=F] [--workloads=...]
    python scripts/results_small.py D [--out docs/results-small.md]

Only workloads on which every submission of the run finished every study are scored (a run
stopped early leaves the others out, and says which). The time budgets are those the trials
ran with (their `--budget_factor`, read from the trials' meta data).

A ratio is the submission's median (over studies) steps or seconds to the target divided by
the baseline's, a miss counting as the step hint (or budget) + 1; below 1 is faster. A cell
marked ">=" is a bound: the submission's median study missed the target.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import scoring  # pylint: disable=g-import-not-at-top
from avgperf import trial_files  # pylint: disable=g-import-not-at-top
from configs import suites  # pylint: disable=g-import-not-at-top
from configs import workloads as workload_configs  # pylint: disable=g-import-not-at-top
from scoring import time_to_target  # pylint: disable=g-import-not-at-top

REFERENCE = 'baseline'
# How far a geometric-mean ratio may be from a claimed one (or two from each other) and
# still agree with the claim.
TOLERANCE = 0.10


@dataclasses.dataclass(frozen=True)
class Claim:
  """A claim of the literature and how the suite tests it.

  Attributes:
    text, source: the claim and where it is made.
    kind: 'ratio' (each of `subjects` reaches the target in about `expected` of the
      baseline's steps), 'equal' (subjects[0] and subjects[1] about equal), 'beats'
      (subjects[0] faster than subjects[1]) or 'slower' (each of `subjects`, which average
      without decaying the learning rate to zero, slower than the baseline).
    subjects: the submissions whose ratios to the baseline test it.
    expected: the claimed ratio ('ratio' only).
    note: how directly the suite tests it.
  """

  text: str
  source: str
  kind: str
  subjects: tuple[str, ...]
  expected: float | None = None
  note: str = ''


CLAIMS = (
    Claim("Averaging with learning-rate decay reaches targets in about 82% of the baseline's "
          'steps', 'Ajroldi et al. 2025, AlgoPerf workloads (about 70% on a 124M LM)', 'ratio',
          ('nadamw_ema', 'nadamw_lawa'), 0.82),
    Claim('EMA and LAWA are about equal when tuned', 'Ajroldi et al. 2025', 'equal',
          ('nadamw_ema', 'nadamw_lawa'),
          note='each runs its default point, not tuned on these workloads'),
    Claim('Averaging does not replace learning-rate decay, except on some workloads',
          'Ajroldi et al. 2025', 'slower', ('nadamw_swa', 'schedule_free_adamw'),
          note='tested indirectly: the suite has no constant-rate EMA or LAWA; SWA averages '
          'at a constant rate after annealing to it, schedule-free averages with no schedule'),
    Claim('WSD with a 20% 1-sqrt cooldown matches cosine', 'Hägele et al. 2024', 'ratio',
          ('wsd',), 1.0),
    Claim('TWA beats SWA', 'Li et al. 2023 (TWA)', 'beats', ('nadamw_twa', 'nadamw_swa')),
    Claim('Schedule-free matches a tuned cosine baseline', 'Defazio et al. 2024', 'ratio',
          ('schedule_free_adamw',), 1.0,
          note='the baseline is AlgoPerf\'s NAdamW point, not tuned on these workloads'),
)


def finished_trials(experiment_dir: Path) -> dict[tuple[str, str], set[int]]:
  """(submission, workload) -> the studies whose trial finished."""
  done = collections.defaultdict(set)
  for t in scoring.find_trials(experiment_dir):
    if trial_files.read_status(t.path.parent) in trial_files.FINAL_STATUSES:
      done[(t.submission, t.workload)].add(t.study)
  return done


def complete_workloads(done, suite_workloads, num_studies: int
                       ) -> tuple[tuple[str, ...], dict[str, str], tuple[str, ...]]:
  """The workloads every submission finished in every study, in the suite's order; the
  others with what they lack; the submissions."""
  submissions = tuple(in_suite_order({s for s, _ in done}))
  complete, partial = [], {}
  for w in suite_workloads:
    counts = [len(done.get((s, w), ())) for s in submissions]
    if min(counts) == num_studies:
      complete.append(w)
    elif max(counts):
      partial[w] = f'{sum(counts)} of {num_studies * len(submissions)} trials finished'
  return tuple(complete), partial, submissions


def budget_factor(experiment_dir: Path, workloads, rules: str) -> float:
  """The factor the trials' budgets were multiplied by (`--budget_factor`); one for all."""
  factors = set()
  for t in scoring.find_trials(experiment_dir):
    meta = t.path.parent / 'meta_data.json'
    if t.workload in workloads and meta.exists():
      budget = json.loads(meta.read_text())['budget_sec']
      factors.add(round(budget / workload_configs.facts(t.workload, rules).max_runtime_sec, 6))
  if len(factors) != 1:
    raise SystemExit(f'results_small: trials ran with different budget factors {factors}; '
                     'score runs of one factor')
  return factors.pop()


def in_suite_order(submissions) -> list[str]:
  """`submissions` in the order the small suite lists them (others after, by name)."""
  order = suites.get('small').submissions
  return sorted(submissions, key=lambda s: (order.index(s) if s in order else len(order), s))


def ratios(board, measure: str):
  """submission x workload: median over studies divided by the baseline's (misses filled)."""
  return 1.0 / board.workload_speedups[measure].speedup


def geomean(values) -> float:
  values = np.asarray(values, dtype=float)
  values = values[np.isfinite(values)]
  return float(np.exp(np.mean(np.log(values)))) if len(values) else math.nan


def _cell(board, measure: str, submission: str, workload: str) -> str:
  speedups = board.workload_speedups[measure]
  value = 1.0 / speedups.speedup.loc[submission, workload]
  if not math.isfinite(value):
    return '–'
  medians = board.steps_to_target if measure == 'steps' else board.time_to_target
  bound = '>=' if math.isinf(medians.loc[submission, workload]) else ''
  if speedups.low is None:
    return f'{bound}{value:.2f}'
  low = 1.0 / speedups.high.loc[submission, workload]
  high = 1.0 / speedups.low.loc[submission, workload]
  return f'{bound}{value:.2f} [{low:.2f}, {high:.2f}]'


def ratio_table(board, measure: str) -> list[str]:
  table = ratios(board, measure)
  workloads = list(table.columns)
  lines = ['| submission | ' + ' | '.join(workloads) + ' | geometric mean |',
           '|---' * (len(workloads) + 2) + '|']
  for submission in in_suite_order(table.index):
    if submission == REFERENCE:
      continue
    lines.append(f'| {submission} | ' + ' | '.join(
        _cell(board, measure, submission, w) for w in workloads)
        + f' | {geomean(table.loc[submission]):.2f} |')
  return lines


def reference_table(boards, misses) -> list[str]:
  """The baseline's own medians, and each submission's missed studies, per workload."""
  steps, seconds = boards['steps'].steps_to_target, boards['time'].time_to_target
  workloads = list(steps.columns)
  fmt = lambda v, f: 'missed' if math.isinf(v) else f.format(v)  # noqa: E731
  lines = ['| | ' + ' | '.join(workloads) + ' |', '|---' * (len(workloads) + 1) + '|',
           f'| {REFERENCE}: median steps to target | ' + ' | '.join(
               fmt(steps.loc[REFERENCE, w], '{:,.0f}') for w in workloads) + ' |',
           f'| {REFERENCE}: median seconds to target | ' + ' | '.join(
               fmt(seconds.loc[REFERENCE, w], '{:.1f}') for w in workloads) + ' |']
  for submission in in_suite_order(steps.index):
    lines.append(f'| {submission}: studies missed | ' + ' | '.join(
        str(misses[(submission, w)]) for w in workloads) + ' |')
  return lines


def verdict(claim: Claim, table) -> str:
  """One line: what the suite measured for `claim` and whether it agrees."""
  present = [s for s in claim.subjects if s in table.index]
  if len(present) < len(claim.subjects):
    return (f'- **{claim.text}** ({claim.source}): not tested (the run needs '
            f'{", ".join(claim.subjects)}).')
  n = len(table.columns)
  means = {s: geomean(table.loc[s]) for s in present}
  faster = {s: int((table.loc[s] < 1.0).sum()) for s in present}
  if claim.kind == 'ratio':
    result = f'claimed {claim.expected:.2f}; ' + '; '.join(
        f'{s} {means[s]:.2f} (faster than the baseline on {faster[s]} of {n}), off by '
        f'{means[s] - claim.expected:+.2f}: ' + (
            'agrees' if abs(means[s] - claim.expected) <= TOLERANCE else
            'does not reproduce at this scale') for s in present)
  elif claim.kind == 'equal':
    a, b = present
    rel = means[a] / means[b]
    wins = int((table.loc[a] < table.loc[b]).sum())
    result = (f'{a} {means[a]:.2f} against {b} {means[b]:.2f} ({a} / {b} = {rel:.2f}; '
              f'{a} faster on {wins} of {n}): '
              + ('agrees' if abs(rel - 1.0) <= TOLERANCE else 'does not reproduce at this scale'))
  elif claim.kind == 'beats':
    a, b = present
    wins = int((table.loc[a] < table.loc[b]).sum())
    agrees = means[a] < means[b] and wins > n / 2
    result = (f'{a} {means[a]:.2f} against {b} {means[b]:.2f} ({a} faster on {wins} of '
              f'{n}): ' + ('agrees' if agrees else 'does not reproduce at this scale'))
  elif claim.kind == 'slower':
    slower = {s: n - int((table.loc[s] <= 1.0).sum()) for s in present}
    agrees = all(slower[s] > n / 2 for s in present)
    result = ('; '.join(f'{s} {means[s]:.2f}, slower than the baseline on {slower[s]} of {n}'
                        for s in present) + ': '
              + ('agrees' if agrees else 'does not reproduce at this scale'))
  else:
    raise ValueError(f'unknown claim kind {claim.kind!r}')
  note = f' ({claim.note})' if claim.note else ''
  return f'- **{claim.text}** ({claim.source}){note}: {result}.'


def run_facts(experiment_dir: Path, workloads) -> tuple[str, float, int, str]:
  """The machine (from the trials' meta data), the trials' summed wall time in hours, how
  many trials that is, and the command that ran them."""
  machines, commands, seconds, count = set(), set(), 0.0, 0
  for t in scoring.find_trials(experiment_dir):
    if t.workload not in workloads or not t.path.exists():
      continue
    meta = json.loads((t.path.parent / 'meta_data.json').read_text())
    machines.add(f'{len(meta.get("devices", []))} {meta.get("device_kind", "?")} device(s), '
                 f'{meta.get("platform", "?")}')
    commands.add(' '.join(['avgperf'] + [  # the folder as the reader names it
        '--experiment_dir=<experiment_dir>' if a.startswith('--experiment_dir=') else a
        for a in meta.get('command_line', [])[1:]]))
    rows = trial_files.EvalLog.load(t.path).rows
    seconds += float(rows[-1]['total_duration']) if rows else 0.0
    count += 1
  return '; '.join(sorted(machines)), seconds / 3600, count, '; '.join(sorted(commands))


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('experiment_dir', type=Path)
  parser.add_argument('--out', default='docs/results-small.md')
  parser.add_argument('--bootstrap', type=int, default=1000)
  args = parser.parse_args(argv)
  suite = suites.get('small')
  done = finished_trials(args.experiment_dir)
  if not done:
    raise SystemExit(f'results_small: no finished trial under {args.experiment_dir}')
  num_studies = max(s for studies in done.values() for s in studies) + 1
  workloads, partial, submissions = complete_workloads(done, suite.workloads, num_studies)
  if REFERENCE not in submissions or not workloads:
    raise SystemExit(f'results_small: no workload on which {REFERENCE} and every other '
                     f'submission finished {num_studies} studies')
  factor = budget_factor(args.experiment_dir, workloads, suite.rules)
  boards = {measure: scoring.score_logs(
      args.experiment_dir, rules=suite.rules, workloads=workloads, reference=REFERENCE,
      bootstrap=args.bootstrap, time_col=time_col, num_studies=num_studies,
      budget_factor=factor) for measure, time_col in (('steps', 'global_step'),
                                                      ('time', 'score'))}
  misses = _misses(args.experiment_dir, submissions, workloads, suite.rules)
  machine, hours, count, command = run_facts(args.experiment_dir, workloads)
  left_out = [w for w in suite.workloads if w not in workloads]
  lines = [
      '# Does the harness reproduce the science? The `small` suite', '',
      f'Made by `python scripts/results_small.py <experiment_dir>` from a run of '
      f'{num_studies} studies of {len(submissions)} submissions on {len(workloads)} small '
      f'workloads: {count} trials, {hours:.2f} hours of trial wall time on {machine}, with '
      f'{factor:g}x the time budgets (`--budget_factor`). Each study runs one trial per '
      "submission, at the first point of its search space (its published defaults): no "
      'submission was tuned on these workloads.', '', f'The run: `{command}`.', '',
      'Ratios are medians over studies relative to the baseline (below 1: faster), with 95% '
      'bootstrap intervals over studies; a miss counts as the step hint (or budget) + 1, and '
      '">=" marks a bound (the median study missed).', '']
  if left_out:
    lines += ['Not in this run: ' + ', '.join(
        f'{w} ({partial[w]})' if w in partial else w for w in left_out) + '.', '']
  lines += ['## The baseline, and misses', '', *reference_table(boards, misses), '',
            '## Steps to target, relative to the baseline', '',
            *ratio_table(boards['steps'], 'steps'), '',
            '## Time to target, relative to the baseline', '',
            *ratio_table(boards['time'], 'time'), '',
            "## The literature's claims", '',
            f'Measured by steps, as the claims are; "agrees" when a geometric mean over the '
            f'workloads is within {TOLERANCE:.2f} of the claimed ratio (or of the other '
            'submission\'s, for "about equal"), or when the claimed order holds in the '
            'geometric mean and on most workloads.', '',
            *(verdict(c, ratios(boards['steps'], 'steps')) for c in CLAIMS), '']
  Path(args.out).write_text('\n'.join(lines))
  print(f'wrote {args.out}')


def _misses(experiment_dir: Path, submissions, workloads, rules: str
            ) -> dict[tuple[str, str], int]:
  """(submission, workload) -> studies whose trial had no eval at the target within its
  budget (the trial's own, from its meta data), by scoring's rule."""
  out = collections.Counter()
  for t in scoring.find_trials(experiment_dir):
    if t.submission not in submissions or t.workload not in workloads or not t.path.exists():
      continue
    facts = workload_configs.facts(t.workload, rules)
    budget = json.loads((t.path.parent / 'meta_data.json').read_text())['budget_sec']
    rows = trial_files.EvalLog.load(t.path).rows
    column = lambda name: np.array([float(r.get(name, np.nan)) for r in rows])  # noqa: E731
    reached = time_to_target.trial_reached(
        column('score'), column('global_step'),
        column(trial_files.column('validation', facts.metric)), facts.validation_target,
        facts.mode, budget)
    out[(t.submission, t.workload)] += reached == time_to_target.NEVER
  return {(s, w): out[(s, w)] for s in submissions for w in workloads}


if __name__ == '__main__':
  main()
