"""A suite: every (workload, submission, study, trial) of `configs/suites.py`, run by workers
that coordinate through the trial folders alone, then scored.

A task is one trial. Any number of workers (processes on this machine, or SLURM array tasks
on a cluster) may go through the same tasks: a finished trial is skipped (its folder says so),
an interrupted one is resumed, and one that another worker holds (its lock) is left to it. So
a suite started twice, or on two launchers at once, never runs a trial twice.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from avgperf import experiment
from avgperf import runner
from avgperf import spec
from avgperf import trial_files
from avgperf.errors import UsageError
from configs import suites as suite_configs


@dataclasses.dataclass(frozen=True)
class SuiteRun:
  """A suite as this command runs it (the suite's defaults with the command's overrides)."""

  suite: suite_configs.Suite
  experiment_dir: Path
  submissions: tuple[str, ...]
  num_studies: int
  data_dir: str | None = None
  rng_seed: int = 0
  max_global_steps: int | None = None
  eval_every_steps: int | None = None
  workloads: tuple[str, ...] = ()  # the suite's, or a subset in the order given
  budget_factor: float = 1.0


@dataclasses.dataclass(frozen=True)
class Task:
  """One trial of a suite."""

  workload: str
  submission: str
  study: int
  trial: int

  def __str__(self) -> str:
    return f'{self.submission}/study_{self.study}/{self.workload}_jax/trial_{self.trial}'


def make_run(suite_name: str, experiment_dir: str | os.PathLike,
             submissions: Sequence[str] | None = None, num_studies: int | None = None,
             data_dir: str | None = None, rng_seed: int = 0,
             max_global_steps: int | None = None, eval_every_steps: int | None = None,
             workloads: Sequence[str] | None = None, budget_factor: float = 1.0) -> SuiteRun:
  """The suite `suite_name` with the command's overrides; `workloads` picks some of the
  suite's workloads and the order in which they run."""
  try:
    suite = suite_configs.get(suite_name)
  except KeyError as e:
    raise UsageError(e.args[0]) from None
  if num_studies is not None and num_studies < 1:
    raise UsageError(f'num_studies must be at least 1, got {num_studies}')
  unknown = [w for w in workloads or () if w not in suite.workloads]
  if unknown:
    raise UsageError(f'suite {suite.name} has no workload {", ".join(unknown)}; its '
                     f'workloads: {", ".join(suite.workloads)}')
  return SuiteRun(suite, Path(experiment_dir), tuple(submissions or suite.submissions),
                  num_studies or suite.num_studies, data_dir, rng_seed, max_global_steps,
                  eval_every_steps, tuple(dict.fromkeys(workloads or suite.workloads)),
                  budget_factor)


def tasks(run: SuiteRun) -> list[Task]:
  """Every trial, workload by workload (so that each is scored as early as possible)."""
  return [Task(w, s, study, k) for w in run.workloads for s in run.submissions
          for study in range(run.num_studies)
          for k in range(1, run.suite.num_tuning_trials + 1)]


def _experiment_config(run: SuiteRun, task: Task) -> experiment.ExperimentConfig:
  return experiment.ExperimentConfig(
      experiment_dir=run.experiment_dir / task.submission, studies=[task.study],
      trials=[task.trial], num_tuning_trials=run.suite.num_tuning_trials,
      rng_seed=run.rng_seed, data_dir=run.data_dir, max_global_steps=run.max_global_steps,
      eval_every_steps=run.eval_every_steps, budget_factor=run.budget_factor, resume=True)


@functools.cache
def _workload(name: str) -> spec.Workload:
  from workloads import registry  # pylint: disable=g-import-not-at-top
  return registry.get(name)


@functools.cache
def _submission(name: str) -> spec.Submission:
  from avgperf import submission_loader  # pylint: disable=g-import-not-at-top
  return submission_loader.load(name)


def check(run: SuiteRun) -> None:
  """Plans every (workload, submission) before anything runs, so that a bad name, a missing
  dataset or a submission that cannot start stops the suite at once, in one line."""
  for workload in run.workloads:
    for submission in run.submissions:
      config = dataclasses.replace(_experiment_config(run, Task(workload, submission, 0, 1)),
                                   studies=list(range(run.num_studies)), trials=None)
      experiment.plan(config, _workload(workload), _submission(submission))


def trial_dir(run: SuiteRun, task: Task) -> Path:
  return run.experiment_dir / str(task)


def run_task(run: SuiteRun, task: Task) -> runner.TrialRecord | None:
  """Runs (or resumes) one trial; None when another worker holds it. A finished trial's
  record is read from its folder."""
  records = experiment.run(_experiment_config(run, task), _workload(task.workload),
                           _submission(task.submission), skip_busy=True)
  return records[0] if records else None


def work(run: SuiteRun, report: Callable[[Task, runner.TrialRecord | None], None]) -> None:
  """One worker: goes through every task, running those that are neither finished nor held."""
  for task in tasks(run):
    report(task, run_task(run, task))


def _finished(run: SuiteRun, task: Task) -> bool:
  """As `experiment.finished`: a trial stopped by a lower step limit than this run's is not."""
  folder = trial_dir(run, task)
  status = trial_files.read_status(folder)
  if status == 'max_steps':
    rows = trial_files.EvalLog.load(folder / trial_files.EVAL_MEASUREMENTS).rows
    done = int(rows[-1]['global_step']) if rows else 0
    return run.max_global_steps is not None and run.max_global_steps <= done
  return status in trial_files.FINAL_STATUSES


def pending(run: SuiteRun) -> list[Task]:
  """The tasks whose trials have not finished."""
  return [t for t in tasks(run) if not _finished(run, t)]


def _gpu_count() -> int:
  if shutil.which('nvidia-smi') is None:
    return 0
  out = subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True, check=False)
  return sum(line.startswith('GPU ') for line in out.stdout.splitlines())


def worker_environments(workers: int) -> list[dict[str, str]]:
  """Each local worker's environment: on a machine with GPUs, one GPU per worker while they
  last; workers that share a GPU do not preallocate 75% of its memory each."""
  gpus = _gpu_count()
  envs = []
  for i in range(workers):
    env = {'TF_CPP_MIN_LOG_LEVEL': '2'}
    if gpus:
      env['CUDA_VISIBLE_DEVICES'] = str(i % gpus)
      if workers > gpus:
        env['XLA_PYTHON_CLIENT_PREALLOCATE'] = 'false'
    envs.append(env)
  return envs


def run_local(run: SuiteRun, workers: int, worker_command: Sequence[str]) -> int:
  """Starts `workers` processes running `worker_command` and waits for them all; returns the
  worst exit code."""
  processes = [subprocess.Popen(list(worker_command), env={**os.environ, **env})
               for env in worker_environments(workers)]
  codes = [p.wait() for p in processes]
  return max(codes, key=abs)


def python_command() -> list[str]:
  return [sys.executable, '-m', 'avgperf.cli']
