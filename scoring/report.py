"""A folder of trial logs -> the leaderboard: scores, times to target, ratios, profiles.

`score_logs` is what `avgperf score` calls; `write_outputs` writes its files. Per-file
problems never stop scoring: they are returned as one-line warnings (`Leaderboard.warnings`)
for the caller to print. `ScoringError` is raised only when nothing can be scored.
"""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

from configs import workloads as workload_configs
from scoring import bootstrap as bootstrap_lib
from scoring import logs as logs_lib
from scoring import pipeline
from scoring import profiles
from scoring import rules as rules_lib
from scoring import speedups as speedups_lib
from scoring import studies as studies_lib
from scoring.errors import ScoringError

TIME_COLUMNS = {'score': 'time', 'accumulated_submission_time': 'time', 'global_step': 'steps'}


@dataclasses.dataclass(frozen=True)
class Leaderboard:
  """What scoring a folder of logs gives.

  Attributes:
    rules, ruleset, time_col, reference: how it was scored.
    scores: one row per submission, best first: `score` (and `score_low`, `score_high` with
      a bootstrap), `speedup` (and its interval) with a reference, `reached` (scored
      workloads with a finite time after the gates).
    time_to_target: submission x workload (held-out variants too) median seconds to target
      before the gates; inf: missed, nan: no logs.
    steps_to_target: the same in optimizer steps.
    ratios: submission x scored workload, after the gates: what the profiles are made of.
    profiles: submission x tau, rho(tau) on the taus of the score.
    warnings: one line per problem found (a file, a missing study, a skipped workload).
    num_studies: the studies per (submission, workload) scored.
    bootstrap: the bootstrap's replicates (0: none, no intervals).
    workload_speedups: with a reference, 'time' and 'steps' -> each submission's speedup
      over it per workload (and interval, with a bootstrap); empty without one.
    budget_factor: the multiplier of every runtime budget scored with.
  """

  rules: str
  ruleset: str
  time_col: str
  reference: str | None
  scores: pd.DataFrame
  time_to_target: pd.DataFrame
  steps_to_target: pd.DataFrame
  ratios: pd.DataFrame
  profiles: pd.DataFrame
  warnings: tuple[str, ...]
  num_studies: int
  bootstrap: int
  workload_speedups: dict[str, speedups_lib.WorkloadSpeedups]
  budget_factor: float = 1.0

  def format(self) -> str:
    """The leaderboard as a text table, best first."""
    has_ci = 'score_low' in self.scores
    n = len(self.ratios.columns)
    header = f'{"rank":>4}  {"submission":<32} {"score":>7}'
    header += f'  {"95% CI":<17}' if has_ci else ''
    header += f' {"speedup":>8}' if 'speedup' in self.scores else ''
    lines = [f'{self.rules} {self.ruleset} tuning, by {self.time_col}'
             + (f', relative to {self.reference}' if self.reference else ''), header]
    for rank, (name, row) in enumerate(self.scores.iterrows(), start=1):
      line = f'{rank:>4}  {name:<32} {row["score"]:>7.4f}'
      if has_ci:
        line += f'  [{row["score_low"]:.4f}, {row["score_high"]:.4f}]'
      if 'speedup' in self.scores:
        line += f' {row["speedup"]:>7.3f}x'
      lines.append(f'{line}  ({int(row["reached"])}/{n} workloads)')
    return '\n'.join(lines)


def _grouped_skips(skipped: dict[tuple[str, str], int], rules: rules_lib.Rules) -> list[str]:
  """One line per workload skipped: why, how many trials, whose."""
  by_workload = collections.defaultdict(dict)
  for (submission, workload), count in skipped.items():
    by_workload[workload][submission] = count
  lines = []
  for workload, counts in sorted(by_workload.items()):
    known = any(workload in table for table in (*workload_configs.RULES.values(),
                                                 workload_configs.SMALL))
    why = 'not scored' if known else 'an unknown workload'
    whose = (', '.join(sorted(counts)) if len(counts) <= 3 else f'{len(counts)} submissions')
    lines.append(f'{workload!r} is {why} under {rules.name}; skipped {sum(counts.values())} '
                 f'trials of {whose}')
  return lines


def _choose_rules(rules: str, workloads, present: set[str]) -> tuple[rules_lib.Rules, list]:
  try:
    preset = rules_lib.preset(rules, tuple(workloads) if workloads else None)
  except KeyError as e:
    raise ScoringError(e.args[0]) from None
  if workloads or present & set(preset.scored):
    return preset, []
  fallback = tuple(sorted(w for w in present
                          if w in preset.workloads and preset.workloads[w].base is None))
  if not fallback:
    return preset, []
  note = (f'none of the {rules} workloads has logs; scoring the base workloads found: '
          f'{", ".join(fallback)}')
  return rules_lib.preset(rules, fallback), [note]


def read_logs(logs_dir: str | os.PathLike, rules: rules_lib.Rules,
              ) -> tuple[list[logs_lib.TrialLog], list[str]]:
  """The logs under `logs_dir` of the workloads `rules` scores (bases and their variants).

  Returns:
    (the logs that can be scored, one warning line per problem).
  """
  wanted = set(rules.scored) | {v for v, b in rules.variants().items() if b in rules.scored}
  skipped = collections.Counter()
  logs, warnings = [], []
  for where in logs_lib.find_trials(logs_dir):
    if where.workload not in wanted:
      skipped[(where.submission, where.workload)] += 1
      continue
    log, warning = logs_lib.read_trial(where, rules.workloads[where.workload].metric)
    if warning:
      warnings.append(warning)
    if log is not None:
      logs.append(log)
  return logs, warnings + _grouped_skips(skipped, rules)


def _frame(values: np.ndarray, index, columns) -> pd.DataFrame:
  frame = pd.DataFrame(values, index=pd.Index(index, name='submission'), columns=columns)
  return frame


def score_logs(logs_dir: str | os.PathLike, rules: str = 'v0.5', ruleset: str = 'external',
               reference: str | None = None, time_col: str = 'score', bootstrap: int = 0,
               seed: int = 0, averages: bool = False,
               workloads: tuple[str, ...] | None = None,
               num_studies: int | None = None, num_trials: int | None = None,
               budget_factor: float = 1.0) -> Leaderboard:
  """Scores every submission under `logs_dir`.

  Args:
    logs_dir: a folder of `<submission>/study_<k>/<workload>_<framework>/trial_<i>/` logs.
    rules: 'v0.5' or 'v0.6'.
    ruleset: 'external' (best trial per study, median over studies) or 'self' (one trial
      per study, the budget multiplied by 3 in v0.5, 1.5 in v0.6).
    reference: a submission to divide by instead of the best; also gives each submission's
      geometric-mean speedup over it on the scored workloads, before the gates, a miss
      counting as the budget + 1 s (by steps: the step hint + 1), as AlgoPerf's
      compute_speedups.py.
    time_col: 'score' (seconds of timed training) or 'global_step' (steps to target).
    bootstrap: replicates of the bootstrap over studies (0: none).
    seed: the bootstrap's seed.
    averages: also score each averaged-weight column as a virtual submission
      `<submission>[<average>]`.
    workloads: the base workloads to score instead of the leaderboard's; default: the
      rules' eight, or the base workloads found when the logs hold none of those.
    num_studies: studies a complete submission has, instead of the rules' (missing ones
      count as misses); e.g. 1 to score single-study runs of your own.
    num_trials: trials per study a complete study has, instead of the rules' (only the
      warnings about short studies read it).
    budget_factor: multiplies every runtime budget, as the runs' `--budget_factor` did.

  Returns:
    The leaderboard.

  Raises:
    ScoringError: when nothing can be scored (no logs, unknown rules, bad arguments).
  """
  _check_arguments(logs_dir, ruleset, time_col)
  preset, table, warnings = _read_table(logs_dir, rules, ruleset, averages, workloads,
                                        num_studies, num_trials, budget_factor)
  names = table.submissions
  if reference is not None and reference not in names:
    raise ScoringError(f'reference {reference!r} is not among the submissions scored: '
                       f'{", ".join(names)}')
  variants = [v for v in sorted(preset.variants()) if v in table.workloads]
  warnings += _coverage_warnings(table, preset, names, variants)
  columns = list(preset.scored) + variants
  measure = TIME_COLUMNS[time_col]
  values = table.study_values(names, columns, measure, preset.num_studies)
  ref = None if reference is None else names.index(reference)
  fill = np.array([_budget(preset, measure)(w, ruleset) + 1 for w in preset.scored])
  scored = pipeline.score_arrays(studies_lib.medians(values), columns, preset, ref, fill)
  boot = (bootstrap_lib.bootstrap(values, columns, preset, bootstrap, seed, ref, fill)
          if bootstrap > 0 else None)
  frame = _score_frame(names, scored, boot)
  all_columns = columns + sorted(set(table.workloads) - set(columns))
  medians, workload_speedups = {}, {}
  for which in ('time', 'steps'):
    v = table.study_values(names, all_columns, which, preset.num_studies)
    medians[which] = _frame(studies_lib.medians(v), names, all_columns).loc[frame.index]
    if ref is not None:
      fill = np.array([_budget(preset, which)(w, ruleset) + 1 for w in all_columns])
      workload_speedups[which] = speedups_lib.workload_speedups(
          v, names, all_columns, ref, fill, bootstrap, seed).in_order(frame.index)

  tau = profiles.taus(preset.tau_max, preset.num_points)
  return Leaderboard(
      rules=preset.name, ruleset=ruleset, time_col=time_col, reference=reference,
      scores=frame, time_to_target=medians['time'], steps_to_target=medians['steps'],
      ratios=_frame(scored.ratios, names, list(preset.scored)).loc[frame.index],
      profiles=_frame(profiles.profile(scored.ratios, tau), names,
                      pd.Index(tau, name='tau')).loc[frame.index],
      warnings=tuple(warnings), num_studies=preset.num_studies, bootstrap=max(bootstrap, 0),
      workload_speedups=workload_speedups, budget_factor=preset.budget_factor)


def _budget(preset: rules_lib.Rules, measure: str):
  """The budget of `measure` ('time': seconds, 'steps': the step hint) of a workload."""
  return preset.budget if measure == 'time' else preset.step_budget


def _check_arguments(logs_dir, ruleset: str, time_col: str) -> None:
  if ruleset not in rules_lib.RULESETS:
    raise ScoringError(f'unknown ruleset {ruleset!r}; choose external or self')
  if time_col not in TIME_COLUMNS:
    raise ScoringError(f'unknown time column {time_col!r}; choose score or global_step')
  if Path(logs_dir).is_file():
    raise ScoringError(f'{logs_dir} is a file; give the folder that holds the trial folders')
  if not Path(logs_dir).is_dir():
    raise ScoringError(f'{logs_dir}: no such folder')


def _read_table(logs_dir, rules: str, ruleset: str, averages: bool, workloads,
                num_studies: int | None, num_trials: int | None, budget_factor: float = 1.0,
                ) -> tuple[rules_lib.Rules, studies_lib.StudyTable, list]:
  """The rules preset, the table of per-study results and the warnings so far."""
  present = {t.workload for t in logs_lib.find_trials(logs_dir)}
  if not present:
    raise ScoringError(f'{logs_dir}: no <submission>/study_<k>/<workload>_<framework>/'
                       'trial_<i>/ folders')
  preset, warnings = _choose_rules(rules, workloads, present)
  if num_studies is not None:
    if num_studies < 1:
      raise ScoringError('num_studies must be at least 1')
    preset = dataclasses.replace(preset, num_studies=num_studies)
  if num_trials is not None:
    preset = dataclasses.replace(preset, num_trials=num_trials)
  if not budget_factor > 0:
    raise ScoringError(f'budget_factor must be positive, got {budget_factor}')
  preset = dataclasses.replace(preset, budget_factor=budget_factor)
  trial_logs, read_warnings = read_logs(logs_dir, preset)
  warnings += read_warnings
  table = studies_lib.collect(trial_logs, preset, ruleset, averages)
  if not table.cells:
    first = f' ({warnings[-1]})' if warnings else ''
    raise ScoringError(f'{logs_dir}: no log of a {preset.name} scored workload could be '
                       f'read{first}')
  return preset, table, warnings + studies_lib.problems(table, preset)


def _coverage_warnings(table, preset: rules_lib.Rules, names, variants) -> list[str]:
  warnings = []
  for s in names:
    missing = [w for w in list(preset.scored) + variants if (s, w) not in table.cells]
    if missing and '[' not in s:
      warnings.append(f'{s}: no logs of {", ".join(missing)}; counted as misses')
  for v, b in sorted(preset.variants().items()):
    if b in preset.scored and v not in variants:
      warnings.append(f'held-out workload {v!r} has no logs; it does not gate {b!r}')
  return warnings


def _score_frame(names, scored, boot) -> pd.DataFrame:
  """The leaderboard's table: score (and interval), speedup (and interval), reached."""
  frame = pd.DataFrame({'score': scored.scores}, index=pd.Index(names, name='submission'))
  if boot is not None:
    frame['score_low'], frame['score_high'] = boot.score_interval
  if scored.speedups is not None:
    frame['speedup'] = scored.speedups
    if boot is not None:
      frame['speedup_low'], frame['speedup_high'] = boot.speedup_interval
  frame['reached'] = np.isfinite(scored.times).sum(axis=-1)
  return frame.sort_values('score', ascending=False, kind='stable')


def write_outputs(leaderboard: Leaderboard, out_dir: str | os.PathLike) -> list[Path]:
  """Writes the leaderboard's files into `out_dir` (created if absent).

  Files: scores.csv (full precision), time_to_target.csv and steps_to_target.csv
  (submission x workload), ratios.csv, performance_profiles.csv and performance_profiles.png;
  with a reference, workload_speedups.csv (measure, submission, workload: speedup, interval).

  Returns:
    The paths written.
  """
  from scoring import plots  # pylint: disable=g-import-not-at-top (matplotlib is slow)

  out = Path(out_dir)
  try:
    out.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise ScoringError(f'{out}: cannot create the folder ({e.strerror})') from None
  tables = {'scores.csv': leaderboard.scores, 'time_to_target.csv': leaderboard.time_to_target,
            'steps_to_target.csv': leaderboard.steps_to_target,
            'ratios.csv': leaderboard.ratios,
            'performance_profiles.csv': leaderboard.profiles}
  if leaderboard.workload_speedups:
    tables['workload_speedups.csv'] = speedups_lib.long_frame(leaderboard.workload_speedups)
  written = []
  for name, frame in tables.items():
    frame.to_csv(out / name)  # floats in full (shortest round-trip) precision
    written.append(out / name)
  written.append(plots.plot_profiles(leaderboard, out / 'performance_profiles.png'))
  return written
