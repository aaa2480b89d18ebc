"""The validation curves a report draws: every trial of every scored study, each marked with
whether it stands for its study.

A study is drawn as the trial scoring takes for it (`StudyTable.scored_trial`: under external
tuning the one that reached the target in the fewest evals, under self-tuning its one trial);
a study none of whose trials reached the target is drawn as the trial that came closest (the
best validation value). Its other trials are kept, unmarked, to be drawn faintly. Averaged
weights are curves of the virtual entries `<submission>[<average>]`, whose chosen trial may
differ from their submission's. Only the studies that the leaderboard scored (the first
`num_studies` of each submission and workload) are kept.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from scoring import report as report_lib
from scoring import rules as rules_lib
from scoring import studies as studies_lib


@dataclasses.dataclass(frozen=True)
class Curve:
  """One trial's validation metric for one leaderboard entry.

  Attributes:
    entry: the leaderboard's name: a submission, or `<submission>[<average>]`.
    average: the average's name, or None for the raw (evaluated) weights.
    workload, study, trial: where it comes from.
    time: seconds of timed training at each eval.
    steps: the global step at each eval.
    values: the validation metric at each eval.
    chosen: whether it is the trial that stands for its study.
  """

  entry: str
  average: str | None
  workload: str
  study: int
  trial: int
  time: np.ndarray
  steps: np.ndarray
  values: np.ndarray
  chosen: bool

  @property
  def label(self) -> str:
    """What a legend calls it: entry, study and trial (the workload titles the legend)."""
    return f'{self.entry} · study {self.study} · trial {self.trial}'


def closest_trial(curves: list[Curve], mode: str) -> int:
  """The index of the curve whose best value is best ('max': highest, 'min': lowest); the
  first of equals."""
  sign = 1.0 if mode == 'max' else -1.0

  def best(curve: Curve) -> float:
    finite = sign * curve.values[np.isfinite(curve.values)]
    return float(finite.max()) if len(finite) else -np.inf

  return max(range(len(curves)), key=lambda i: best(curves[i]))


def _study_curves(entry: str, workload: str, study: int, trials, logs, chosen: int | None,
                  mode: str) -> list[Curve]:
  submission, average = studies_lib.split_virtual_name(entry)
  curves = []
  for trial, _ in trials:
    log = logs[(submission, workload, study, trial)]
    values = log.metric if average is None else log.averages[average]
    curves.append(Curve(entry, average, workload, study, trial, log.time, log.steps, values,
                        chosen=trial == chosen))
  if chosen is None and curves:
    pick = closest_trial(curves, mode)
    curves[pick] = dataclasses.replace(curves[pick], chosen=True)
  return curves


def select_curves(logs_dir: str | os.PathLike, rules: rules_lib.Rules, ruleset: str,
                  measure: str) -> dict[str, list[Curve]]:
  """The curves of every (entry, workload) under `logs_dir`.

  Args:
    logs_dir: the folder scored.
    rules: the preset it was scored with (`num_studies` as scored).
    ruleset: 'external' or 'self'.
    measure: 'time' or 'steps': what breaks ties between trials (as the leaderboard's).

  Returns:
    workload -> its curves, by entry, study and trial.
  """
  trial_logs, _ = report_lib.read_logs(logs_dir, rules)
  logs = {(log.where.submission, log.where.workload, log.where.study, log.where.trial): log
          for log in trial_logs}
  table = studies_lib.collect(trial_logs, rules, ruleset, averages=True)
  out: dict[str, list[Curve]] = {}
  for (entry, workload), by_study in sorted(table.cells.items()):
    mode = rules.workloads[workload].mode
    for study in sorted(by_study)[:rules.num_studies]:
      trials = by_study[study]
      out.setdefault(workload, []).extend(_study_curves(
          entry, workload, study, trials, logs, table.scored_trial(trials, measure), mode))
  return out
