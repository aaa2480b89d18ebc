"""Finding trial folders and reading the few columns of their eval_measurements.csv.

Layout (AlgoPerf's, which the runner also writes):
`<logs_dir>/<submission>/[study_<k>/]<workload>_<framework>/trial_<i>/eval_measurements.csv`.
Without a `study_<k>` level the trials belong to study 0. A `logs_dir` that is itself one
submission's folder (it holds `study_<k>` or `<workload>_<framework>` folders) is read as one
submission named after the folder.

Only the columns scoring needs are parsed: the clock (`score`, else
`accumulated_submission_time`), `global_step`, the validation target column
`validation/<metric>` and the averaged-weight columns `validation/<average>/<metric>`.
A file that cannot be read yields a one-line warning naming it, never an exception.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from avgperf import trial_files

FRAMEWORKS = ('jax', 'pytorch')

_STUDY = re.compile(r'study_(\d+)$')
_TRIAL = re.compile(r'trial_(\d+)$')


@dataclasses.dataclass(frozen=True)
class TrialPath:
  """Where one trial's log is, and what its folders say it is."""

  submission: str
  study: int
  workload: str  # without the framework suffix
  framework: str  # 'jax', 'pytorch', or '' when the folder has no suffix
  trial: int
  path: Path  # the eval_measurements.csv (which may be absent)


@dataclasses.dataclass(frozen=True)
class TrialLog:
  """The columns of one trial that scoring reads, one entry per evaluation.

  Attributes:
    where: the trial's `TrialPath`.
    time: seconds of timed training at each eval (`score`).
    steps: `global_step` at each eval.
    metric: the validation target metric of the raw (prepare_for_eval) weights.
    averages: average name (e.g. 'ema_0.99') -> the same metric of those averaged weights.
  """

  where: TrialPath
  time: np.ndarray
  steps: np.ndarray
  metric: np.ndarray
  averages: dict[str, np.ndarray]


def split_workload_folder(name: str) -> tuple[str, str]:
  """'ogbg_model_size_pytorch' -> ('ogbg_model_size', 'pytorch'); no suffix -> (name, '')."""
  base, _, suffix = name.rpartition('_')
  return (base, suffix) if base and suffix in FRAMEWORKS else (name, '')


def _subdirs(path: Path) -> list[os.DirEntry]:
  try:
    return sorted((e for e in os.scandir(path) if e.is_dir()), key=lambda e: e.name)
  except OSError:
    return []


def _is_submission_folder(entries: list[os.DirEntry]) -> bool:
  return any(_STUDY.match(e.name) or split_workload_folder(e.name)[1] for e in entries)


def _folder_name(workload_dir: os.DirEntry) -> str:
  """The name of the submission folder above a workload folder (above `study_<k>` if any)."""
  parent = Path(workload_dir.path).resolve().parent
  return parent.parent.name if _STUDY.match(parent.name) else parent.name


def _recorded_submission(trial_dir: Path) -> str | None:
  """The submission a trial's meta_data.json names (ours record it; AlgoPerf's do not)."""
  try:
    return json.loads((trial_dir / trial_files.META_DATA).read_text()).get('submission')
  except (OSError, ValueError, AttributeError):
    return None


def _trials_in(submission: str | None, study: int,
               workload_dir: os.DirEntry) -> list[TrialPath]:
  """The trials of one workload folder; `submission` None: each names its own (meta_data),
  else the folder's name."""
  workload, framework = split_workload_folder(workload_dir.name)
  found = []
  for entry in _subdirs(Path(workload_dir.path)):
    match = _TRIAL.match(entry.name)
    if match:
      name = submission or _recorded_submission(Path(entry.path)) or _folder_name(workload_dir)
      found.append(TrialPath(name, study, workload, framework, int(match.group(1)),
                             Path(entry.path) / trial_files.EVAL_MEASUREMENTS))
  return sorted(found, key=lambda t: t.trial)


def find_trials(logs_dir: str | os.PathLike) -> list[TrialPath]:
  """Every trial folder under `logs_dir`, sorted by submission, workload, study and trial.

  Args:
    logs_dir: a folder of submission folders, or one submission's folder.

  Returns:
    One `TrialPath` per `trial_<i>` folder (whether or not its CSV exists).
  """
  root = Path(logs_dir)
  top = _subdirs(root)
  # A folder of submission folders names each submission; one submission's folder (an
  # experiment dir of `avgperf run`) lets each trial name its own.
  submissions = [(None, top)] if _is_submission_folder(top) else [
      (e.name, _subdirs(Path(e.path))) for e in top]
  trials = []
  for submission, entries in submissions:
    for entry in entries:
      study = _STUDY.match(entry.name)
      if study:
        for workload_dir in _subdirs(Path(entry.path)):
          trials += _trials_in(submission, int(study.group(1)), workload_dir)
      elif not entry.name.startswith('.'):
        trials += _trials_in(submission, 0, entry)
  return sorted(trials, key=lambda t: (t.submission, t.workload, t.study, t.trial))


def select_trials(logs_dir: str | os.PathLike, submission: str | None = None,
                  workload: str | None = None, study: int | None = None,
                  trial: int | None = None) -> list[Path]:
  """The trial folders under `logs_dir` that match every filter given (None: any).

  Args:
    logs_dir: as for `find_trials`.
    submission, workload, study, trial: the filters (workload without framework suffix).

  Returns:
    The `trial_<i>` folders, sorted as `find_trials` sorts them.
  """
  wanted = {'submission': submission, 'workload': workload, 'study': study, 'trial': trial}
  return [t.path.parent for t in find_trials(logs_dir)
          if all(v is None or getattr(t, k) == v for k, v in wanted.items())]


def _floats(values: list[str]) -> tuple[np.ndarray, int]:
  """The values as floats ('' -> nan) and the index of the first that is not a number."""
  try:
    return np.array(values, dtype=np.float64), len(values)
  except ValueError:
    out = np.full(len(values), math.nan)
    for i, v in enumerate(values):
      if v.strip():
        try:
          out[i] = float(v)
        except ValueError:
          return out[:i], i
    return out, len(values)


def _columns(header: list[str], metric: str) -> tuple[int | None, int | None, int | None,
                                                      dict[str, int]]:
  index = {name: i for i, name in enumerate(header)}
  time = next((index[c] for c in trial_files.TIME_COLUMNS if c in index), None)
  averages = {}
  for name, i in index.items():
    parsed = trial_files.parse_column(name)
    if parsed and parsed[0] == 'validation' and parsed[1] is not None and parsed[2] == metric:
      averages[parsed[1]] = i
  return (time, index.get(trial_files.STEP_COLUMN),
          index.get(trial_files.column('validation', metric)), averages)


def read_trial(where: TrialPath, metric: str) -> tuple[TrialLog | None, str | None]:
  """Reads the columns of one trial that scoring needs.

  A malformed or truncated row ends the log: the rows before it are kept, and a warning says
  so. A last line without its newline counts as truncated (every writer, ours and AlgoPerf's,
  ends a file with one). A header-only file is a trial that never evaluated (kept, no
  warning).

  Args:
    where: the trial.
    metric: the workload's validation metric name (e.g. 'accuracy').

  Returns:
    (the log, or None when the trial cannot be scored at all; a one-line warning naming the
    file, or None).
  """
  path = where.path
  try:
    text = path.read_text(encoding='utf-8')
  except FileNotFoundError:
    empty = np.zeros(0)
    return (TrialLog(where, empty, empty, empty, {}),
            f'{path}: missing; the trial counts as a miss')
  except (OSError, UnicodeDecodeError) as e:
    return None, f'{path}: unreadable ({type(e).__name__}); skipped'
  lines = text.splitlines()
  if not lines or not lines[0].strip():
    return None, f'{path}: empty file; skipped'
  header = next(csv.reader(lines[:1]))
  time_i, step_i, metric_i, average_i = _columns(header, metric)
  missing = [name for name, i in (('score', time_i), (trial_files.STEP_COLUMN, step_i),
                                  (trial_files.column('validation', metric), metric_i))
             if i is None]
  if missing:
    return None, f'{path}: no column {missing[0]!r}; skipped'
  body = [line for line in lines[1:] if line.strip()]
  rows = list(csv.reader(body)) if '"' in text else [line.split(',') for line in body]
  good = next((k for k, row in enumerate(rows) if len(row) != len(header)), len(rows))
  if body and not text.endswith('\n'):
    good = min(good, len(rows) - 1)  # the last line was cut, perhaps inside a number
  wanted = {'time': time_i, 'steps': step_i, 'metric': metric_i,
            **{f'avg:{a}': i for a, i in average_i.items()}}
  parsed = {}
  for name, i in wanted.items():
    parsed[name], bad = _floats([row[i] for row in rows[:good]])
    good = min(good, bad)
  problems = []
  if good < len(rows):
    problems.append(f'line {good + 2} is malformed (truncated?); scored the {good} evals '
                    'before it')
  cut = {name: values[:good] for name, values in parsed.items()}
  bad_time = ~(cut['time'] >= 0)  # NaN or negative: no eval there can count as reached
  if bad_time.any():
    first = int(np.argmax(bad_time))
    problems.append(f'line {first + 2} has score {cut["time"][first]:g} (and '
                    f'{int(bad_time.sum()) - 1} more such lines); those evals count as misses')
    for name in cut:
      if name == 'metric' or name.startswith('avg:'):
        cut[name] = np.where(bad_time, np.nan, cut[name])
  warning = f'{path}: {"; ".join(problems)}' if problems else None
  return TrialLog(where, cut['time'], cut['steps'], cut['metric'],
                  {name[4:]: v for name, v in cut.items() if name.startswith('avg:')}), warning
