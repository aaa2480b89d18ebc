"""An experiment: studies of trials of one submission on one workload, under a ruleset.

Layout (AlgoPerf's): `<experiment_dir>/[study_<s>/]<workload>_jax/trial_<k>/`, trials counted
from 1. Without `studies` the trials go straight under the experiment dir (study 0's seeds).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from avgperf import logs
from avgperf import runner
from avgperf import sharding
from avgperf import submission as submission_lib
from avgperf import tuning
from avgperf.errors import UsageError

# Self-tuning submissions get this multiple of the workload's budget (AlgoPerf v0.6).
SELF_TUNING_BUDGET_FACTOR = 1.5
FINAL_STATUSES = frozenset(logs.STATUSES) - {'error'}


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
  """What `avgperf run` runs.

  Attributes:
    experiment_dir: the root of the trial folders.
    workload: a registered workload name.
    submission: a submission name or the path of a submission module.
    ruleset: 'external' (a search space, trials and studies) or 'self' (one trial with no
      hyperparameters and 1.5x the budget).
    tuning_search_space: a search-space JSON; default: the one that ships with the submission.
    num_tuning_trials: trials per study.
    studies: the study indices to run; None: one study, trials directly under the dir.
    rng_seed: the experiment's seed; each study and trial derives its own.
    max_global_steps, eval_every_steps, data_dir, resume, progress: as in runner.TrialConfig.
  """

  experiment_dir: Path
  workload: str
  submission: str
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


@dataclasses.dataclass(frozen=True)
class _Plan:
  trial_dir: Path
  study: int
  trial: int
  hyperparameters: dict | None
  seed: int


def _check_writable(path: Path) -> None:
  existing = path
  while not existing.exists():
    existing = existing.parent
  if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
    raise UsageError(f'experiment dir {path} is not writable')


def plan(config: ExperimentConfig, workload, submission) -> list[_Plan]:
  """Every trial's folder, hyperparameters and seed; checks the inputs, writes nothing."""
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
  try:
    sharding.per_process_batch_size(submission.get_batch_size(workload.name))
  except ValueError as e:
    raise UsageError(str(e)) from None
  space = None
  if config.ruleset == 'external':
    path = config.tuning_search_space or submission.default_search_space
    if path is None:
      raise UsageError(f'submission {submission.name} ships no search space; '
                       'pass --tuning_search_space')
    space = tuning.load_search_space(path)
  _check_writable(Path(config.experiment_dir))

  root = Path(config.experiment_dir)
  studies = [None] if config.studies is None else list(config.studies)
  num_trials = config.num_tuning_trials if config.ruleset == 'external' else 1
  plans = []
  for study in studies:
    s = study or 0
    points = (tuning.draw_trials(space, num_trials, tuning.study_seed(config.rng_seed, s))
              if space is not None else [None])
    for k, point in enumerate(points, start=1):
      if point is not None:
        tuning.make_hyperparameters(point)  # names must be identifiers
      base = root if study is None else root / f'study_{study}'
      plans.append(_Plan(base / f'{workload.name}_jax' / f'trial_{k}', s, k, point,
                         tuning.trial_seed(config.rng_seed, s, k)))
  if not config.resume:
    taken = [p.trial_dir for p in plans if (p.trial_dir / logs.EVAL_MEASUREMENTS).exists()]
    if taken:
      raise UsageError(f'{taken[0]} already holds a trial; pass --resume to continue it, '
                       'or choose another --experiment_dir')
  return plans


def run(config: ExperimentConfig, workload, submission: submission_lib.Submission,
        on_trial_end: Callable[[runner.TrialRecord], None] | None = None,
        ) -> list[runner.TrialRecord]:
  """Runs (or, with resume, completes) every planned trial; returns their records."""
  plans = plan(config, workload, submission)
  budget = workload.max_allowed_runtime_sec * (
      SELF_TUNING_BUDGET_FACTOR if config.ruleset == 'self' else 1.0)
  records = []
  for p in plans:
    finished = logs.read_status(p.trial_dir)
    if config.resume and finished in FINAL_STATUSES:
      records.append(_record_from_files(p.trial_dir, finished, workload))
      continue
    p.trial_dir.mkdir(parents=True, exist_ok=True)
    logs.write_json(p.trial_dir / logs.HPARAMS, p.hyperparameters or {})
    logs.write_json(p.trial_dir / logs.META_DATA, {
        'workload': workload.name, 'submission': submission.name, 'ruleset': config.ruleset,
        'study': p.study, 'trial': p.trial, 'rng_seed': p.seed,
        'experiment_rng_seed': config.rng_seed, 'budget_sec': budget,
        'max_global_steps': config.max_global_steps,
        'eval_every_steps': config.eval_every_steps,
        'target': {'metric': f'validation/{workload.target_metric_name}',
                   'mode': workload.target_metric_mode,
                   'validation': workload.validation_target_value,
                   'test': workload.test_target_value},
        **logs.environment(),
    })
    trial_config = runner.TrialConfig(
        trial_dir=p.trial_dir, rng_seed=p.seed, budget_sec=budget,
        max_global_steps=config.max_global_steps, eval_every_steps=config.eval_every_steps,
        data_dir=config.data_dir, resume=config.resume, progress=config.progress)
    record = runner.run_trial(workload, submission,
                              tuning.make_hyperparameters(p.hyperparameters), trial_config)
    records.append(record)
    if on_trial_end:
      on_trial_end(record)
  return records


def _record_from_files(trial_dir: Path, status: str, workload) -> runner.TrialRecord:
  """The record of a trial that an earlier run finished."""
  rows = logs.EvalLog.load(trial_dir / logs.EVAL_MEASUREMENTS).rows
  last = rows[-1] if rows else {}
  reached = [r['score'] for r in rows if workload.has_reached_validation_target(r)]
  return runner.TrialRecord(status=status, global_step=int(last.get('global_step', 0)),
                            accumulated_submission_time=float(
                                last.get('accumulated_submission_time', 0.0)),
                            time_to_target=reached[0] if reached else None,
                            final_metrics=last, trial_dir=trial_dir)
