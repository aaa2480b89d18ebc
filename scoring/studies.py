"""From trial logs to one result per (submission, workload, study), and to arrays of them.

A trial that logged averaged-weight columns (`validation/<average>/<metric>`) can also count
as a trial of the virtual submission `<submission>[<average>]`, so that the averages of one
run compete in the same performance profile as whole submissions.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from scoring import rules as rules_lib
from scoring import time_to_target
from scoring.logs import TrialLog
from scoring.time_to_target import Reached

# (submission, workload) -> study -> [(trial number, result)], trials in increasing number.
Cells = Mapping[tuple[str, str], Mapping[int, Sequence[tuple[int, Reached]]]]


def virtual_name(submission: str, average: str) -> str:
  """The name under which an average of `submission` is scored: 'sub[ema_0.99]'."""
  return f'{submission}[{average}]'


def split_virtual_name(name: str) -> tuple[str, str | None]:
  """'sub[ema_0.99]' -> ('sub', 'ema_0.99'); a submission's own name -> (name, None)."""
  if name.endswith(']') and '[' in name:
    submission, _, average = name[:-1].partition('[')
    return submission, average
  return name, None


@dataclasses.dataclass(frozen=True)
class StudyTable:
  """Every trial's result, grouped by (submission, workload) and study.

  Attributes:
    cells: (submission, workload) -> study -> [(trial, Reached)] in trial order.
    ruleset: 'external' (a study's result is its best trial) or 'self' (its one trial).
  """

  cells: Cells
  ruleset: str

  @property
  def submissions(self) -> tuple[str, ...]:
    return tuple(sorted({s for s, _ in self.cells}))

  @property
  def workloads(self) -> tuple[str, ...]:
    return tuple(sorted({w for _, w in self.cells}))

  def scored_trial(self, trials: Sequence[tuple[int, Reached]], measure: str) -> int | None:
    """The number of the trial whose result is its study's: the best (external tuning) or
    the first (self-tuning); None when no trial of the study counts."""
    if self.ruleset == 'self':
      return trials[0][0] if trials else None
    index = time_to_target.best_trial_index([r for _, r in trials], measure)
    return trials[index][0] if index >= 0 else None

  def study_result(self, trials: Sequence[tuple[int, Reached]], measure: str) -> Reached:
    """A study's result: that of its `scored_trial`, or NEVER."""
    number = self.scored_trial(trials, measure)
    return time_to_target.NEVER if number is None else dict(trials)[number]

  def study_values(self, submissions: Sequence[str], workloads: Sequence[str], measure: str,
                   num_studies: int) -> np.ndarray:
    """Each study's time (or steps) to target.

    Args:
      submissions, workloads: the rows and columns wanted.
      measure: 'time' or 'steps'.
      num_studies: studies per cell: the first `num_studies` studies present (by index) are
        kept and missing ones count as misses (inf).

    Returns:
      (submissions, workloads, num_studies); nan for a (submission, workload) with no log.
    """
    out = np.full((len(submissions), len(workloads), num_studies), np.nan)
    for i, s in enumerate(submissions):
      for j, w in enumerate(workloads):
        studies = self.cells.get((s, w))
        if studies is None:
          continue
        out[i, j, :] = np.inf
        kept = sorted(studies)[:num_studies]
        for k, study in enumerate(kept):
          out[i, j, k] = getattr(self.study_result(studies[study], measure), measure)
    return out


def medians(values: np.ndarray) -> np.ndarray:
  """The median over the last (study) axis; nan where a cell has no log."""
  with np.errstate(invalid='ignore'):
    return np.median(values, axis=-1)


def collect(trial_logs: Iterable[TrialLog], rules: rules_lib.Rules, ruleset: str,
            averages: bool = False) -> StudyTable:
  """Each trial's time and steps to target, grouped by submission, workload and study.

  Args:
    trial_logs: logs of workloads that `rules` knows.
    rules: the preset (targets, budgets).
    ruleset: 'external' or 'self' (the budget multiplier, one trial per study).
    averages: also score each averaged-weight column as a virtual submission.

  Returns:
    The table.
  """
  cells = collections.defaultdict(lambda: collections.defaultdict(list))
  for log in trial_logs:
    where = log.where
    facts = rules.workloads[where.workload]
    budget = rules.budget(where.workload, ruleset)
    columns = {where.submission: log.metric}
    if averages:
      columns.update({virtual_name(where.submission, a): v for a, v in log.averages.items()})
    for submission, metric in columns.items():
      reached = time_to_target.trial_reached(log.time, log.steps, metric,
                                             facts.validation_target, facts.mode, budget)
      cells[(submission, where.workload)][where.study].append((where.trial, reached))
  for studies in cells.values():
    for trials in studies.values():
      trials.sort(key=lambda t: t[0])
  return StudyTable({k: dict(v) for k, v in cells.items()}, ruleset)


def problems(table: StudyTable, rules: rules_lib.Rules) -> list[str]:
  """Lines on studies and trials that differ from the rules' numbers.

  One line per (submission, workload) with missing studies, or with fewer trials than the
  rules' in some study (several in some study, for self-tuning); one line per submission with
  more studies than the rules score.
  """
  lines = []
  extra = collections.defaultdict(list)
  for (s, w), studies in sorted(table.cells.items()):
    if len(studies) < rules.num_studies:
      lines.append(f'{s}/{w}: {len(studies)} of {rules.num_studies} studies; the missing '
                   'ones count as misses')
    elif len(studies) > rules.num_studies:
      extra[s].append(w)
    if table.ruleset == 'self':
      many = [k for k, t in sorted(studies.items()) if len(t) > 1]
      if many:
        lines.append(f'{s}/{w}: self-tuning has one trial per study, found several in '
                     f'study {many[0]}; scoring the lowest-numbered trial')
    else:
      short = {k: len(t) for k, t in sorted(studies.items()) if len(t) < rules.num_trials}
      if short:
        counts = ', '.join(f'study {k}: {n}' for k, n in short.items())
        lines.append(f'{s}/{w}: fewer than {rules.num_trials} trials ({counts})')
  for s, workloads in sorted(extra.items()):
    lines.append(f'{s}: more than {rules.num_studies} studies on {len(workloads)} workloads; '
                 f'scoring the first {rules.num_studies} ({rules.name})')
  return lines
