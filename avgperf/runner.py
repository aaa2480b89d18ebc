"""One trial: the clock, the random keys, the eval cadence and the stop rules.

Timed (the clock read only with the device synchronised on the outputs of the work it
times): `data_selection`, `update_params` and `prepare_for_eval` (and `averaged_params`).
Untimed: initialisation, evals, logging, checkpoints, the progress bar. The budget is checked
after every step.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import traceback
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from avgperf import checkpoint as checkpoint_lib
from avgperf import final_params
from avgperf import progress as progress_lib
from avgperf import step_feed
from avgperf import provenance
from avgperf import sharding
from avgperf import spec
from avgperf import trial_files
from avgperf import tuning



@dataclasses.dataclass(frozen=True)
class TrialConfig:
  """How to run one trial.

  Attributes:
    trial_dir: where the trial's logs and checkpoints go (created if absent).
    rng_seed: the trial's seed; every key of the trial derives from it and the step.
    budget_sec: timed seconds after which the trial stops.
    batch_size: the global batch size (the submission's `get_batch_size`).
    hyperparameters: the trial's point, or None (self-tuning: the submission sets its own).
    max_global_steps: stop after this many steps (None: no limit).
    eval_every_steps: eval every this many steps; None: every `eval_period_time_sec` of
      timed training, as AlgoPerf does.
    data_dir: the dataset's folder, for workloads that read one.
    resume: continue from the trial's last checkpoint, if it has one.
    checkpoint: save a checkpoint after every eval (needed to resume).
    progress: show a progress bar.
    meta_data: what meta_data.json records besides the environment (written once, when the
      trial starts).
    clock: the timer (seconds); tests replace it.
  """

  trial_dir: Path
  rng_seed: int
  budget_sec: float
  batch_size: int
  hyperparameters: Mapping[str, Any] | None = None
  max_global_steps: int | None = None
  eval_every_steps: int | None = None
  data_dir: str | None = None
  resume: bool = False
  checkpoint: bool = True
  progress: bool = False
  meta_data: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  clock: Callable[[], float] = time.perf_counter


@dataclasses.dataclass(frozen=True)
class TrialRecord:
  """What one trial came to."""

  status: str
  global_step: int
  accumulated_submission_time: float
  time_to_target: float | None  # timed seconds at the first eval reaching the validation target
  final_metrics: dict[str, float]
  trial_dir: Path
  finished_before: bool = False  # read from the folder of a trial an earlier run finished


def _all_finite(tree) -> bool:
  leaves = [x for x in jax.tree.leaves(tree)
            if hasattr(x, 'dtype') and jnp.issubdtype(x.dtype, jnp.inexact)]
  return bool(all(jnp.isfinite(x).all() for x in leaves))


def _metrics_finite(metrics: dict[str, float]) -> bool:
  return all(math.isfinite(v) for v in metrics.values() if isinstance(v, float))


def run_trial(workload: spec.Workload, submission: spec.Submission,
              config: TrialConfig) -> TrialRecord:
  """Trains until a stop rule fires; logs every eval; returns the trial's record.

  A trial that raises (in its initialisation or later) is left with status 'error' and,
  unless interrupted, its traceback in `error.txt`.
  """
  # Every trial compiles its programs as a trial in a fresh process would (the compilation
  # of its first step is timed, as AlgoPerf times it): nothing an earlier trial of this
  # process compiled is reused, and a resumed trial loads only its own.
  jax.clear_caches()
  try:
    with step_feed.compilation_cache(config.trial_dir):
      return _Trial(workload, submission, config).run()
  except BaseException as e:
    if Path(config.trial_dir).is_dir():
      if not isinstance(e, KeyboardInterrupt):
        trial_files.write_atomic(Path(config.trial_dir) / trial_files.ERROR,
                                 traceback.format_exc())
      trial_files.write_status(Path(config.trial_dir), 'error')
    raise


def record_from_files(trial_dir: Path, status: str, workload: spec.Workload) -> TrialRecord:
  """The record of a trial that an earlier run finished, read from its folder."""
  rows = trial_files.EvalLog.load(trial_dir / trial_files.EVAL_MEASUREMENTS).rows
  last = rows[-1] if rows else {}
  reached = [r['score'] for r in rows if workload.has_reached_validation_target(r)]
  return TrialRecord(status=status, global_step=int(last.get('global_step', 0)),
                     accumulated_submission_time=float(last.get('accumulated_submission_time',
                                                                0.0)),
                     time_to_target=reached[0] if reached else None, final_metrics=last,
                     trial_dir=trial_dir, finished_before=True)


class _Trial:
  """The state of one running trial; `run` is the loop, the other methods its parts."""

  def __init__(self, workload: spec.Workload, submission: spec.Submission, config: TrialConfig):
    """Untimed: writes the trial's record (a fresh trial), initialises or restores the state."""
    self.workload, self.submission, self.config = workload, submission, config
    self.hyperparameters = tuning.make_hyperparameters(config.hyperparameters)
    self.clock = config.clock
    self.trial_dir = Path(config.trial_dir)
    self.trial_dir.mkdir(parents=True, exist_ok=True)
    self.wall_start = self.clock()
    self.checkpointer = checkpoint_lib.Checkpointer(self.trial_dir) if config.checkpoint else None
    self._write_records()
    trial_files.write_status(self.trial_dir, 'running')

    rng = jax.random.PRNGKey(config.rng_seed)
    init_rng, opt_rng, self.data_rng, loop_rng, self.eval_rng = jax.random.split(rng, 5)
    params, model_state = workload.init_model_fn(init_rng)
    self.params = sharding.place_params(params, workload.param_partition_specs())
    self.model_state = sharding.replicate(model_state)
    self.param_types = workload.model_params_types
    self.opt_state = sharding.replicate_unplaced(submission.init_optimizer_state(
        workload, self.params, self.model_state, self.hyperparameters, opt_rng))
    self.local_batch_size = sharding.per_process_batch_size(config.batch_size)
    self.step_keys = step_feed.StepKeys(loop_rng)
    self.last_keys = None  # the keys of the latest step; its eval prepares with the third

    self.counters = {'global_step': 0, 'accumulated_submission_time': 0.0,
                     'accumulated_eval_time': 0.0, 'accumulated_logging_time': 0.0,
                     'previous_duration': 0.0, 'preemption_count': 0, 'last_eval_time': 0.0,
                     'time_to_target': None, 'all_reached': False}
    self.eval_log = trial_files.EvalLog(self.trial_dir / trial_files.EVAL_MEASUREMENTS)
    restored = (self.checkpointer.restore((self.params, self.model_state, self.opt_state))
                if config.resume and self.checkpointer is not None else None)
    self.resumed = restored is not None
    if self.resumed:
      (self.params, self.model_state, self.opt_state), saved = restored
      self.counters.update(saved)
      self.counters['preemption_count'] += 1
      self.eval_log = trial_files.EvalLog.load(self.eval_log.path,
                                               up_to_step=self.counters['global_step'])
    self.eval_results = [(int(r['global_step']), r) for r in self.eval_log.rows]
    self.step = self.last_eval_step = self.counters['global_step']

  def _write_records(self) -> None:
    """A new trial's hparams.json and meta_data.json; a resumed one's max_global_steps."""
    meta_path = self.trial_dir / trial_files.META_DATA
    if self.config.resume and meta_path.exists():
      meta = json.loads(meta_path.read_text())
      if meta.get('max_global_steps') != self.config.max_global_steps:
        meta['max_global_steps'] = self.config.max_global_steps
        trial_files.write_json(meta_path, meta)
      return
    trial_files.write_json(self.trial_dir / trial_files.HPARAMS,
                           self.config.hyperparameters or {})
    trial_files.write_json(meta_path, {**self.config.meta_data, **provenance.environment()})

  def run(self) -> TrialRecord:
    # A resumed trial may have stopped already (killed after its last checkpoint, before its
    # status was written): the stop rules see the restored state before any step.
    status = self._restored_status()
    progress = None
    try:
      if status is None:
        input_queue = step_feed.DevicePrefetcher(self.workload.input_iterator(
            'train', self.data_rng, self.local_batch_size, self.config.data_dir,
            start_step=self.step))
        if self.config.progress:
          progress = progress_lib.ProgressBar(self.workload, self.config.budget_sec,
                                              self.config.max_global_steps, self.step)
      while status is None:
        status = self._train(input_queue, progress)
        if self.step != self.last_eval_step:
          status = self._eval(self.last_keys[2]) or status
          if progress:
            progress.eval(self.eval_log.rows[-1])
    finally:
      if progress:
        progress.close()
      if self.checkpointer is not None:
        self.checkpointer.close()
    if self.config.checkpoint:
      self._save_final()
    trial_files.write_status(self.trial_dir, status)
    return TrialRecord(status=status, global_step=self.step,
                       accumulated_submission_time=self.counters['accumulated_submission_time'],
                       time_to_target=self.counters['time_to_target'],
                       final_metrics=dict(self.eval_log.rows[-1]) if self.eval_log.rows else {},
                       trial_dir=self.trial_dir)

  def _save_final(self) -> None:
    """Untimed: the raw weights, the evaluated ones and every average, as artifacts."""
    rng = self.last_keys[2] if self.last_keys is not None else self.eval_rng
    _, params, model_state = _prepare_for_eval(
        self.submission, self.workload, self.params, self.param_types, self.model_state,
        self.hyperparameters, self.opt_state, self.eval_results, self.step, rng)
    averages = (self.submission.averaged_params(
        self.workload, self.params, self.model_state, self.opt_state, self.hyperparameters,
        self.step) if self.submission.averaged_params is not None else {})
    final_params.save(self.trial_dir, {'raw': (self.params, self.model_state),
                                       'evaluated': (params, model_state), **averages},
                      {'workload': self.workload.name, 'global_step': self.step})

  def _restored_status(self) -> str | None:
    if not self.resumed:
      return None
    if self.counters['all_reached']:
      return 'reached_target'
    return self._stop_status()

  def _train_state(self) -> Mapping[str, Any]:
    return types.MappingProxyType({
        'accumulated_submission_time': self.counters['accumulated_submission_time'],
        'accumulated_eval_time': self.counters['accumulated_eval_time'],
        'last_eval_time': self.counters['last_eval_time'],
        'global_step': self.step,
        'training_complete': False,
    })

  def _train(self, input_queue, progress) -> str | None:
    """Timed: steps until an eval is due or a stop rule fires. Returns the stop status.

    The clock runs through the whole stretch and is read with the device synchronised at
    its end, so every step's device work is counted. Within it the device is waited on one
    step behind (after step k is dispatched, for step k - 1 to finish): the host prepares a
    step while the device runs the one before, and the budget, checked after every step,
    is compared with a time that lags by at most one step.
    """
    sub, w, c = self.submission, self.workload, self.counters
    start, untimed = self.clock(), 0.0
    before = c['accumulated_submission_time']
    pending = status = None
    try:
      while status is None:
        keys = self.last_keys = self.step_keys(self.step)
        batch = sub.data_selection(w, input_queue, self.opt_state, self.params,
                                   self.model_state, self.hyperparameters, self.step, keys[0])
        self.opt_state, self.params, self.model_state = sub.update_params(
            w, self.params, self.param_types, self.model_state, self.hyperparameters, batch,
            w.loss_type, self.opt_state, self.eval_results, self.step, keys[1],
            train_state=self._train_state())
        marker = step_feed.completion_marker(self.params)
        jax.block_until_ready(pending)
        pending = marker
        self.step += 1
        c['accumulated_submission_time'] = before + self.clock() - start - untimed
        status = self._stop_status()
        if progress:
          shown = self.clock()
          progress.step(self.step, c['accumulated_submission_time'])
          untimed += self.clock() - shown
        if self._eval_due():
          break
    except spec.TrainingCompleteError:
      status = 'training_complete'
    jax.block_until_ready((self.opt_state, self.params, self.model_state))
    c['accumulated_submission_time'] = before + self.clock() - start - untimed
    if status is None:
      status = self._stop_status()
    return status

  def _stop_status(self) -> str | None:
    if self.counters['accumulated_submission_time'] >= self.config.budget_sec:
      return 'budget_exhausted'
    if self.config.max_global_steps is not None and self.step >= self.config.max_global_steps:
      return 'max_steps'
    return None

  def _eval_due(self) -> bool:
    if self.config.eval_every_steps:
      return self.step - self.last_eval_step >= self.config.eval_every_steps
    since = self.counters['accumulated_submission_time'] - self.counters['last_eval_time']
    return since >= self.workload.eval_period_time_sec

  def _eval(self, prepare_rng) -> str | None:
    """Prepare for eval (timed), eval (untimed), log and checkpoint (untimed).

    Returns 'diverged', or 'reached_target' once the evaluated weights and every average
    have reached the targets, or None.
    """
    sub, w, c = self.submission, self.workload, self.counters
    start = self.clock()
    _, eval_params, eval_model_state = _prepare_for_eval(
        sub, w, self.params, self.param_types, self.model_state, self.hyperparameters,
        self.opt_state, self.eval_results, self.step, prepare_rng)
    averages = (sub.averaged_params(w, self.params, self.model_state, self.opt_state,
                                    self.hyperparameters, self.step)
                if sub.averaged_params is not None else {})
    jax.block_until_ready((eval_params, eval_model_state, averages))
    c['accumulated_submission_time'] += self.clock() - start
    c['last_eval_time'] = c['accumulated_submission_time']
    self.last_eval_step = self.step

    start = self.clock()
    metrics = self._evaluate(eval_params, eval_model_state, averages)
    c['accumulated_eval_time'] += self.clock() - start

    status = None
    if w.has_reached_validation_target(metrics) and c['time_to_target'] is None:
      c['time_to_target'] = c['accumulated_submission_time']
    if not (_metrics_finite(metrics) and _all_finite(self.params)):
      status = 'diverged'
    elif all(_reached(w, metrics, name) for name in [None, *averages]):
      status = 'reached_target'
      c['all_reached'] = True
    self._log(metrics, checkpoint=status != 'diverged')
    return status

  def _evaluate(self, eval_params, eval_model_state, averages) -> dict[str, float]:
    """Every split of the evaluated weights, then of each average under its own columns."""
    w = self.workload
    rng = jax.random.fold_in(self.eval_rng, self.step)
    metrics = w.eval_model(eval_params, eval_model_state, rng, self.config.data_dir,
                           sharding.place_eval_batch)
    for name, (avg_params, avg_state) in averages.items():
      for name_in_eval, value in w.eval_model(avg_params, avg_state, rng, self.config.data_dir,
                                              sharding.place_eval_batch).items():
        split, _, metric = trial_files.parse_column(name_in_eval)
        metrics[trial_files.column(split, metric, name)] = value
    return metrics

  def _log(self, metrics: dict[str, float], checkpoint: bool) -> None:
    """Untimed: the eval's row, then (unless the trial diverged) a checkpoint."""
    c = self.counters
    start = self.clock()
    c['global_step'] = self.step
    self.eval_log.append({
        'global_step': self.step,
        'score': c['accumulated_submission_time'],
        'accumulated_submission_time': c['accumulated_submission_time'],
        'accumulated_eval_time': c['accumulated_eval_time'],
        'accumulated_logging_time': c['accumulated_logging_time'],
        'total_duration': c['previous_duration'] + self.clock() - self.wall_start,
        'preemption_count': c['preemption_count'],
        **metrics,
    })
    self.eval_results.append((self.step, metrics))
    if self.checkpointer is not None and checkpoint:
      saved = dict(c, previous_duration=c['previous_duration'] + self.clock() - self.wall_start)
      self.checkpointer.save(self.step, (self.params, self.model_state, self.opt_state), saved)
    c['accumulated_logging_time'] += self.clock() - start


def _reached(workload: spec.Workload, metrics: Mapping[str, float], average: str | None) -> bool:
  """Whether the weights named `average` (None: the evaluated ones) reach both targets."""
  def value(split):
    return metrics.get(trial_files.column(split, workload.target_metric_name, average))

  mode = workload.target_metric_mode
  return (trial_files.reached(value('validation'), workload.validation_target_value, mode)
          and (workload.test_target_value is None
               or trial_files.reached(value('test'), workload.test_target_value, mode)))


def _prepare_for_eval(submission, workload, params, param_types, model_state, hyperparameters,
                      opt_state, eval_results, step, rng):
  """The submission's prepare_for_eval, or the raw params when it has none.

  Its outputs are what the eval sees; training continues from the raw state.
  """
  if submission.prepare_for_eval is None:
    return opt_state, params, model_state
  return submission.prepare_for_eval(workload, params, param_types, model_state,
                                     hyperparameters, workload.loss_type, opt_state,
                                     eval_results, step, rng)
