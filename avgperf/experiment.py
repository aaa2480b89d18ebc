"""An experiment: studies of trials of one submission on one workload, under a ruleset.

`plan` turns the command's settings into finished trial configs (hyperparameters, seeds,
batch size and budget computed once, everything checked before anything is written); `run`
hands each to the runner, which is the one writer of its trial folder.

Layout (AlgoPerf's): `<experiment_dir>/[study_<s>/]<workload>_jax/trial_<k>/`, trials counted
from 1. Without `studies` the trials go straight under the experiment dir (study 0's seeds).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from avgperf import runner
from avgperf import sharding
from avgperf import spec
from avgperf import trial_files
from avgperf import tuning
from avgperf.errors import UsageError

RULES = 'v0.6'  # the rules version a run follows (budgets, self-tuning factor)


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """What `avgperf run` runs (the workload and submission are handed over as values).

  Attributes:
    experiment_dir: the root of the trial folders.
    ruleset: 'external' (a search space, trials and studies) or 'self' (one trial with no
      hyperparameters and 1.5x the budget).
    tuning_search_space: a search-space JSON; default: the one that ships with the submission.
    num_tuning_trials: trials per study.
    studies: the study indices to run; None: one study, trials directly under the dir.
    rng_seed: the experiment's seed; each study and trial derives its own.
    max_global_steps, eval_every_steps, data_dir, resume, progress: as in runner.TrialConfig.
  """

  experiment_dir: Path
  ruleset: str = 'external'
  tuning_search_space: Path | None = None
  num_tuning_trials: int = 1
  studies: Sequence[int] | None = None
  rng_seed: int = 0
  max_global_steps: int | None = None
  eval_every_steps: int | None = None
  data_dir: str | None = None
  resume: bool = False
  progress: bool = False


def _check_counts(config: ExperimentConfig) -> None:
  if config.ruleset not in ('external', 'self'):
    raise UsageError(f'unknown tuning ruleset {config.ruleset!r}; use external or self')
  if config.num_tuning_trials < 1:
    raise UsageError('num_tuning_trials must be at least 1')
  for name in ('max_global_steps', 'eval_every_steps'):
    value = getattr(config, name)
    if value is not None and value < 1:
      raise UsageError(f'{name} must be at least 1, got {value}')
  if config.studies is not None and (not config.studies or min(config.studies) < 0):
    raise UsageError('studies are numbered from 0: give --study >= 0 or --num_studies >= 1')


def _check_writable(path: Path) -> None:
  existing = path
  while not existing.exists():
    existing = existing.parent
  if not existing.is_dir():
    raise UsageError(f'experiment dir {path}: {existing} is a file, not a folder')
  if not os.access(existing, os.W_OK | os.X_OK):
    raise UsageError(f'experiment dir {path} is not writable')


def _batch_size(submission: spec.Submission, workload: spec.Workload) -> int:
  size = submission.get_batch_size(workload.name)
  try:
    sharding.per_process_batch_size(size)
  except ValueError as e:
    raise UsageError(str(e)) from None
  return size


def _points(config: ExperimentConfig, submission: spec.Submission) -> Callable[[int], list]:
  """study -> the hyperparameter points of its trials (None: self-tuning's one trial)."""
  if config.ruleset == 'self':
    if not submission.self_tuning:
      raise UsageError(f'submission {submission.name} does not support the self-tuning '
                       'ruleset (it sets no hyperparameters of its own)')
    return lambda study: [None]
  path = config.tuning_search_space or submission.default_search_space
  if path is None:
    raise UsageError(f'submission {submission.name} ships no search space; '
                     'pass --tuning_search_space')
  space = tuning.load_search_space(path)
  return lambda study: tuning.draw_trials(space, config.num_tuning_trials,
                                          tuning.study_seed(config.rng_seed, study))


def plan(config: ExperimentConfig, workload: spec.Workload,
         submission: spec.Submission) -> list[runner.TrialConfig]:
  """Every trial's finished config; checks the inputs, writes nothing."""
  _check_counts(config)
  batch_size = _batch_size(submission, workload)
  points = _points(config, submission)
  _check_writable(Path(config.experiment_dir))
  factor = trial_files.SELF_TUNING_BUDGET_FACTOR[RULES] if config.ruleset == 'self' else 1.0
  budget = workload.max_allowed_runtime_sec * factor
  root = Path(config.experiment_dir)
  plans = []
  for study in ([None] if config.studies is None else list(config.studies)):
    s = study or 0
    base = root if study is None else root / f'study_{study}'
    for k, point in enumerate(points(s), start=1):
      if point is not None:
        tuning.make_hyperparameters(point)  # names must be identifiers
      seed = tuning.trial_seed(config.rng_seed, s, k)
      meta = {'workload': workload.name, 'submission': submission.name,
              'ruleset': config.ruleset, 'rules': RULES, 'study': s, 'trial': k,
              'rng_seed': seed, 'experiment_rng_seed': config.rng_seed, 'budget_sec': budget,
              'batch_size': batch_size, 'max_global_steps': config.max_global_steps,
              'eval_every_steps': config.eval_every_steps,
              'target': {'metric': trial_files.column('validation', workload.target_metric_name),
                         'mode': workload.target_metric_mode,
                         'validation': workload.validation_target_value,
                         'test': workload.test_target_value}}
      plans.append(runner.TrialConfig(
          trial_dir=base / f'{workload.name}_jax' / f'trial_{k}', rng_seed=seed,
          budget_sec=budget, batch_size=batch_size, hyperparameters=point,
          max_global_steps=config.max_global_steps, eval_every_steps=config.eval_every_steps,
          data_dir=config.data_dir, resume=config.resume, progress=config.progress,
          meta_data=meta))
  if not config.resume:
    taken = [p.trial_dir for p in plans
             if (p.trial_dir / trial_files.EVAL_MEASUREMENTS).exists()]
    if taken:
      raise UsageError(f'{taken[0]} already holds a trial; pass --resume to continue it, '
                       'or choose another --experiment_dir')
  return plans


def run(config: ExperimentConfig, workload: spec.Workload, submission: spec.Submission,
        on_trial_end: Callable[[runner.TrialRecord], None] | None = None,
        ) -> list[runner.TrialRecord]:
  """Runs (or, with resume, completes) every planned trial; returns their records."""
  records = []
  for trial in plan(config, workload, submission):
    status = trial_files.read_status(trial.trial_dir)
    if config.resume and status in trial_files.FINAL_STATUSES:
      records.append(runner.record_from_files(trial.trial_dir, status, workload))
      continue
    record = runner.run_trial(workload, submission, trial)
    records.append(record)
    if on_trial_end:
      on_trial_end(record)
  return records
