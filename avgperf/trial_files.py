"""The one owner of a trial folder's format: file names, column names, statuses, the
metric-vs-target comparison, and reading and writing the files.

    <trial_dir>/eval_measurements.csv   one row per eval (AlgoPerf's columns)
                hparams.json, meta_data.json, status, checkpoints/

Every file is replaced atomically (written beside, then renamed), so a process killed at any
instant leaves each file either as it was or complete. The runner, the experiment and
scoring all read the format from here; this module imports nothing of theirs.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

EVAL_MEASUREMENTS = 'eval_measurements.csv'
HPARAMS = 'hparams.json'
META_DATA = 'meta_data.json'
STATUS = 'status'
CHECKPOINTS = 'checkpoints'
COMPILATION_CACHE = '.jax_cache'  # the trial's compiled programs, for a resume
ERROR = 'error.txt'  # the traceback of a trial that raised
LOCK = '.lock'  # held by the process running the trial (avgperf.trial_lock)

# The statuses a trial can end with ('running' while it runs). All but 'error' are final: a
# resume leaves such a trial as it is.
STATUSES = ('reached_target', 'budget_exhausted', 'diverged', 'max_steps', 'training_complete',
            'error')
FINAL_STATUSES = frozenset(STATUSES) - {'error'}

# The clock of a row (AlgoPerf's `score`, else the older `accumulated_submission_time`) and
# its step.
TIME_COLUMNS = ('score', 'accumulated_submission_time')
STEP_COLUMN = 'global_step'
SPLITS = ('train', 'validation', 'test')

# Self-tuning submissions get this multiple of a workload's budget, per rules version.
SELF_TUNING_BUDGET_FACTOR = {'v0.5': 3.0, 'v0.6': 1.5}


def column(split: str, metric: str, average: str | None = None) -> str:
  """A metric's column: 'validation/accuracy', or 'validation/ema_0.99/accuracy' for the
  weight average named 'ema_0.99'.

  >>> column('validation', 'accuracy', 'ema_0.99')
  'validation/ema_0.99/accuracy'
  """
  return f'{split}/{metric}' if average is None else f'{split}/{average}/{metric}'


def parse_column(name: str) -> tuple[str, str | None, str] | None:
  """(split, average or None, metric) of a metric column, or None for any other column.

  >>> parse_column('validation/ema_0.99/accuracy'), parse_column('score')
  (('validation', 'ema_0.99', 'accuracy'), None)
  """
  parts = name.split('/')
  if len(parts) < 2 or parts[0] not in SPLITS:
    return None
  if len(parts) == 2:
    return parts[0], None, parts[1]
  return parts[0], '/'.join(parts[1:-1]), parts[-1]


def reached(value, target: float, mode: str):
  """Whether `value` (a number, None, or an array of them) reaches `target`: >= for mode
  'max', <= for 'min'; never for a missing or non-finite value. The comparison of AlgoPerf's
  scorer (its workloads stop on a strict > / <; only a metric exactly equal to its target
  tells the two apart), so a trial stops exactly when its score counts as reached.

  >>> reached(0.98, 0.98, 'max'), reached(None, 0.98, 'max'), reached(float('nan'), 1, 'min')
  (True, False, False)
  >>> reached(np.array([0.2, 0.1, np.nan]), 0.1, 'min').tolist()
  [False, True, False]
  """
  if mode not in ('max', 'min'):
    raise ValueError(f"mode must be 'max' or 'min', not {mode!r}")
  values = np.asarray(math.nan if value is None else value, dtype=np.float64)
  with np.errstate(invalid='ignore'):
    hit = (values >= target) if mode == 'max' else (values <= target)
  hit = hit & np.isfinite(values)
  return bool(hit) if hit.ndim == 0 else hit


def write_atomic(path: Path, text: str) -> None:
  tmp = path.with_name(f'.{path.name}.tmp')
  with open(tmp, 'w', encoding='utf-8') as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
  os.replace(tmp, path)


def write_json(path: Path, obj) -> None:
  write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + '\n')


def write_status(trial_dir: Path, status: str) -> None:
  write_atomic(trial_dir / STATUS, status + '\n')


def read_status(trial_dir: Path) -> str | None:
  path = trial_dir / STATUS
  return path.read_text().strip() if path.exists() else None


class EvalLog:
  """The rows of eval_measurements.csv, kept in memory and rewritten whole at each eval.

  Rows are few (one per eval), so rewriting is cheap and keeps the file valid at every
  instant; nothing is ever re-read except once on resume.
  """

  def __init__(self, path: Path, rows: Sequence[Mapping[str, float]] = ()):
    self.path = path
    self.rows = [dict(r) for r in rows]

  @classmethod
  def load(cls, path: Path, up_to_step: int | None = None) -> EvalLog:
    """The rows already on disk (those after `up_to_step` dropped, for a resume)."""
    rows = []
    if path.exists():
      with open(path, newline='', encoding='utf-8') as f:
        for row in csv.DictReader(f):
          parsed = {k: _parse(v) for k, v in row.items()}
          if up_to_step is None or parsed['global_step'] <= up_to_step:
            rows.append(parsed)
    return cls(path, rows)

  def append(self, row: Mapping[str, float]) -> None:
    self.rows.append(dict(row))
    columns = sorted(set().union(*self.rows))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval='', lineterminator='\n')
    writer.writeheader()
    writer.writerows(self.rows)
    write_atomic(self.path, out.getvalue())


def _parse(value: str):
  if value == '':
    return math.nan
  try:
    number = float(value)
  except ValueError:
    return value
  return int(number) if number.is_integer() and '.' not in value and 'e' not in value else number
