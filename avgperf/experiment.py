"""An experiment: studies of trials of one submission on one workload, under a ruleset.

`plan` turns the command's settings into finished trial configs (hyperparameters, seeds,
batch size and budget computed once, everything checked before anything is written); `run`
hands each to the runner, which is the one writer of its trial folder.

Layout (AlgoPerf's): `<experiment_dir>/[study_<s>/]<workload>_jax/trial_<k>/`, trials counted
from 1. Without `studies` the trials go straight under the experiment dir (study 0's seeds).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import jax
import numpy as np

from avgperf import runner
from avgperf import sharding
from avgperf import spec
from avgperf import trial_files
from avgperf import trial_lock
from avgperf import tuning
from avgperf.errors import UsageError, warn

RULES = 'v0.6'  # the rules version a run follows (budgets, self-tuning factor)

# What a trial records (meta_data.json, hparams.json) that a resume must match, with the
# flag that sets each; anything else may change on resume: --max_global_steps (raise it to
# go on from a trial that stopped at the old limit), --data_dir, --no_progress.
MUST_MATCH_ON_RESUME = {
    'workload': '--workload', 'submission': '--submission', 'ruleset': '--tuning_ruleset',
    'rules': 'the rules version', 'experiment_rng_seed': '--rng_seed',
    'rng_seed': 'the trial seed', 'budget_sec': 'the budget', 'batch_size': 'the batch size',
    'eval_every_steps': '--eval_every_steps', 'target': 'the target',
    'hyperparameters': 'the search space point',
}


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
    trials: the trial numbers (from 1) to run of each study; None: all of them.
    rng_seed: the experiment's seed; each study and trial derives its own.
    max_global_steps, eval_every_steps, data_dir, resume, progress: as in runner.TrialConfig.
    budget_factor: multiplies every time budget (a machine slower than the one the budgets
      were set for); steps and step budgets do not change.
  """

  experiment_dir: Path
  ruleset: str = 'external'
  tuning_search_space: Path | None = None
  num_tuning_trials: int = 1
  studies: Sequence[int] | None = None
  trials: Sequence[int] | None = None
  rng_seed: int = 0
  max_global_steps: int | None = None
  eval_every_steps: int | None = None
  data_dir: str | None = None
  budget_factor: float = 1.0
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
  if not config.budget_factor > 0:
    raise UsageError(f'budget_factor must be positive, got {config.budget_factor}')


def _check_writable(path: Path) -> None:
  """The nearest existing folder of `path` is a folder in which we can create one."""
  existing = path
  while not existing.exists():
    existing = existing.parent
  if not existing.is_dir():
    raise UsageError(f'{path}: {existing} is a file, not a folder')
  try:
    tempfile.TemporaryDirectory(dir=existing).cleanup()
  except OSError as e:
    raise UsageError(f'{path} is not writable ({e.strerror})') from None


def _batch_size(submission: spec.Submission, workload: spec.Workload) -> int:
  size = submission.get_batch_size(workload.name)
  if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
    raise UsageError(f'submission {submission.name}: get_batch_size({workload.name!r}) '
                     f'returned {size!r}; it must be a positive integer')
  try:
    sharding.per_process_batch_size(int(size))
  except ValueError as e:
    raise UsageError(str(e)) from None
  return int(size)


def _check_point(point: dict | None, k: int, workload: spec.Workload,
                 submission: spec.Submission) -> None:
  """The submission can start from `point`: its optimizer state and a first step on a
  synthetic batch, evaluated abstractly (no memory, no compilation)."""
  hyperparameters = tuning.make_hyperparameters(point)
  params, model_state = workload.abstract_init()
  try:
    batch = workload.synthetic_batch(submission.get_batch_size(workload.name))
  except NotImplementedError:
    batch = None

  def start(p, s):
    rng = jax.random.PRNGKey(0)
    opt_state = submission.init_optimizer_state(workload, p, s, hyperparameters, rng)
    if batch is not None:
      submission.update_params(workload, p, workload.model_params_types, s, hyperparameters,
                               batch, workload.loss_type, opt_state, [], 0, rng)

  # Only what the point explains is refused here; any other error is the submission's own
  # and surfaces in its trial, traceback kept (error.txt).
  try:
    jax.eval_shape(start, params, model_state)
  except AttributeError as e:
    missing = re.search(r"'Hyperparameters' object has no attribute '(\w+)'", str(e))
    if point is not None and missing is not None:
      raise UsageError(f'search-space point {k} lacks hyperparameter {missing.group(1)!r}, '
                       f'which submission {submission.name} reads') from None
  except (TypeError, ValueError) as e:
    words = {name: v for name, v in (point or {}).items() if isinstance(v, str)}
    if words:
      raise UsageError(f'search-space point {k} does not work with submission '
                       f'{submission.name} ({type(e).__name__}: {e}); its text values: '
                       f'{json.dumps(words)}') from None
  except Exception:  # pylint: disable=broad-except
    pass


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
  workload.check_data(config.data_dir)
  factor = trial_files.SELF_TUNING_BUDGET_FACTOR[RULES] if config.ruleset == 'self' else 1.0
  budget = workload.max_allowed_runtime_sec * factor * config.budget_factor
  root = Path(config.experiment_dir)
  plans = []
  for study in ([None] if config.studies is None else list(config.studies)):
    s = study or 0
    base = root if study is None else root / f'study_{study}'
    for k, point in enumerate(points(s), start=1):
      if config.trials is not None and k not in config.trials:
        continue
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
  for k, point in {json.dumps(p.hyperparameters, sort_keys=True): (p.meta_data['trial'],
                                                                   p.hyperparameters)
                   for p in plans}.values():
    _check_point(point, k, workload, submission)
  for p in plans:
    _check_writable(p.trial_dir)
    if config.resume:
      _check_resumable(p)
  return plans


def _recorded(trial_dir: Path) -> dict | None:
  """What a started trial recorded (its meta data and hyperparameters), or None."""
  try:
    meta = json.loads((trial_dir / trial_files.META_DATA).read_text())
    hparams = json.loads((trial_dir / trial_files.HPARAMS).read_text())
  except FileNotFoundError:
    return None
  except (OSError, ValueError) as e:
    raise UsageError(f'cannot resume {trial_dir}: its records are unreadable ({e})') from None
  return {**meta, 'hyperparameters': hparams}


def _check_resumable(trial: runner.TrialConfig) -> None:
  """Refuses (UsageError, one line) a resume whose settings differ from the trial's own."""
  recorded = _recorded(trial.trial_dir)
  if recorded is None:
    return
  now = {**trial.meta_data, 'hyperparameters': trial.hyperparameters or {}}
  for key, flag in MUST_MATCH_ON_RESUME.items():
    if key in recorded and json.dumps(recorded[key], sort_keys=True) != json.dumps(
        now.get(key), sort_keys=True):
      raise UsageError(f'cannot resume {trial.trial_dir}: {flag} differs ({key} was '
                       f'{recorded[key]!r}, now {now.get(key)!r}); resume with the settings '
                       'it started with, or use another --experiment_dir')


def finished(trial: runner.TrialConfig) -> str | None:
  """The final status of a trial that needs no more work, else None. A trial stopped by an
  older, lower --max_global_steps is not finished when the limit is raised."""
  status = trial_files.read_status(trial.trial_dir)
  if status not in trial_files.FINAL_STATUSES:
    return None
  if status == 'max_steps':
    rows = trial_files.EvalLog.load(trial.trial_dir / trial_files.EVAL_MEASUREMENTS).rows
    done = int(rows[-1]['global_step']) if rows else 0
    if trial.max_global_steps is None or trial.max_global_steps > done:
      return None
  return status


def run(config: ExperimentConfig, workload: spec.Workload, submission: spec.Submission,
        on_trial_end: Callable[[runner.TrialRecord], None] | None = None,
        skip_busy: bool = False) -> list[runner.TrialRecord]:
  """Runs (or, with resume, completes) every planned trial; returns their records.

  A trial another process holds is skipped with a warning, or, when it is the only trial
  planned, refused (UsageError) unless `skip_busy` (a worker of a suite, which moves on).
  """
  trials = plan(config, workload, submission)
  return _run_planned(trials, config, workload, submission, on_trial_end, skip_busy)


def _run_planned(trials, config, workload, submission, on_trial_end,
                 skip_busy) -> list[runner.TrialRecord]:
  records = []
  for trial in trials:
    try:
      with trial_lock.TrialLock(trial.trial_dir):
        status = finished(trial) if config.resume else None
        if status is not None:
          records.append(runner.record_from_files(trial.trial_dir, status, workload))
          continue
        record = runner.run_trial(workload, submission, trial)
    except trial_lock.TrialBusyError as e:
      if len(trials) == 1 and not skip_busy:
        raise UsageError(str(e)) from None
      if not skip_busy:
        warn(f'{e}; skipped it')
      continue
    records.append(record)
    if on_trial_end:
      on_trial_end(record)
  return records
