"""The SLURM launcher: a suite's pending trials as one job array, submitted with submitit.

Array task i runs the i-th pending trial (in suite order) in a process of its own, through
`suite.run_task`, so the trial folders and their locks coordinate the tasks with any other
launcher working on the same sweep. Each task's logs go to
`<experiment_dir>/slurm/<array id>_<index>/` (`*_log.out`, `*_log.err`; a requeued task
appends to them).

Requeue: submitit asks SLURM for SIGUSR2 90 s before a task's time limit (some sites send
it on preemption too); the task's callable is checkpointable, so submitit requeues it, and
the requeued task resumes the same trial folder from its last checkpoint (the trial's own,
saved at every eval). A task preempted by a cluster that requeues (PreemptMode=REQUEUE)
starts again and resumes the same way. A task killed without warning (SIGKILL, a lost node)
is requeued by `scontrol requeue ARRAYID_INDEX` while the array runs, or later by the same
`avgperf suite` command, which submits whatever has not finished.

GPUs: with `gpus_per_task`, SLURM gives each task its own GPUs (it sets CUDA_VISIBLE_DEVICES)
and JAX keeps its default preallocation; without it, tasks placed on one node see the same
devices, so JAX allocates on demand instead of taking 75% of a device each.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence

from avgperf import suite
from avgperf.errors import UsageError

try:
  import submitit
except ImportError:  # the `cluster` extra
  submitit = None

# States in which a task has ended for good (squeue's names); any other listed state means
# it will still run (pending, running, requeued, completing, ...).
_ENDED = frozenset({'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'OUT_OF_MEMORY', 'NODE_FAIL',
                    'BOOT_FAIL', 'DEADLINE', 'PREEMPTED'})
# A task that has left the queue without a result counts as failed once it has been seen so
# this many polls in a row (a requeue may follow a kill; a shared file system may lag).
_POLLS_BEFORE_FAILED = 2


class TrialJob:
  """One array task: runs or resumes one trial."""

  def __init__(self, run: suite.SuiteRun, task: suite.Task):
    self.run = run
    self.task = task

  def __call__(self) -> str:
    record = suite.run_task(self.run, self.task)
    what = ('held by another worker' if record is None else
            f'{record.status} at step {record.global_step}')
    print(f'{self.task}: {what}', flush=True)
    return what

  def checkpoint(self):
    """What submitit requeues on preemption or time-out: this task again, whose trial
    resumes from its own last checkpoint."""
    return submitit.helpers.DelayedSubmission(self)


def _executor(run: suite.SuiteRun, partition: str | None, parallelism: int, timeout_min: int,
              gpus_per_task: int | None):
  if submitit is None:
    raise UsageError('--launcher=slurm needs submitit: pip install "avgperf[cluster]"')
  if shutil.which('sbatch') is None:
    raise UsageError('--launcher=slurm needs SLURM (sbatch is not on the PATH); run it on a '
                     "cluster's login node, or use --launcher=local")
  executor = submitit.AutoExecutor(folder=run.experiment_dir / 'slurm' / '%j',
                                   cluster='slurm')
  executor.update_parameters(name=f'avgperf-{run.suite.name}', timeout_min=timeout_min,
                             slurm_array_parallelism=parallelism)
  if partition:
    executor.update_parameters(slurm_partition=partition)
  if gpus_per_task:
    executor.update_parameters(slurm_gpus_per_task=gpus_per_task)
  else:
    executor.update_parameters(slurm_setup=['export XLA_PYTHON_CLIENT_PREALLOCATE=false'])
  return executor


def run(run: suite.SuiteRun, tasks: Sequence[suite.Task], partition: str | None = None,
        parallelism: int = 1, timeout_min: int = 60, gpus_per_task: int | None = None,
        poll_sec: float = 5.0) -> None:
  """Submits `tasks` as one job array and waits for it, a line per finished task.

  Raises:
    UsageError: when SLURM or submitit is missing, or once the array has ended, naming the
      tasks that failed and their logs.
  """
  if not tasks:
    return
  executor = _executor(run, partition, parallelism, timeout_min, gpus_per_task)
  try:
    with executor.batch():
      jobs = [executor.submit(TrialJob(run, task)) for task in tasks]
  except Exception as e:  # pylint: disable=broad-except
    raise UsageError(f'sbatch refused the array: {_last_line(str(e))}') from None
  array_id = jobs[0].job_id.split('_')[0]
  print(f'slurm: job array {array_id}, {len(jobs)} tasks ({parallelism} at once); logs in '
        f'{(run.experiment_dir / "slurm").resolve()}', flush=True)
  try:
    failed = _wait(array_id, list(zip(tasks, jobs)), poll_sec)
  except KeyboardInterrupt:
    raise UsageError(f'stopped waiting; the array goes on (scancel {array_id} stops it), '
                     'and the same command later picks up where it is') from None
  if failed:
    raise UsageError(f'{len(failed)} of {len(jobs)} SLURM tasks failed: ' + '; '.join(failed)
                     + '. Run the same command again to resume them')


def _wait(array_id: str, pending: list, poll_sec: float) -> list[str]:
  """Polls until every task has ended; prints each as it ends; returns the failures, one
  'task (why; log PATH)' each."""
  done, failed, missing, total = 0, [], {}, len(pending)
  while pending:
    queued = _queued(array_id)  # before the results: a task that left the queue has written
    still = []
    for task, job in pending:
      outcome = _outcome(job, queued)
      if outcome is None:
        missing.pop(job.job_id, None)
        still.append((task, job))
        continue
      ok, what = outcome
      if not ok:
        missing[job.job_id] = missing.get(job.job_id, 0) + 1
        if missing[job.job_id] < _POLLS_BEFORE_FAILED:
          still.append((task, job))
          continue
        failed.append(f'{task} ({what}; log {job.paths.stderr})')
      done += 1
      print(f'slurm: [{done}/{total}] {task}: {"" if ok else "failed: "}{what} '
            f'(task {job.job_id})', flush=True)
    pending = still
    if pending:
      time.sleep(poll_sec)
  return failed


def _outcome(job, queued: set[str] | None) -> tuple[bool, str] | None:
  """(succeeded, what) of a task that has ended, None while it may still run."""
  if job.paths.result_pickle.exists():
    try:
      return True, job.result()
    except Exception as e:  # pylint: disable=broad-except
      return False, _last_line(str(e))
  if queued is None or job.job_id in queued:
    return None
  return False, 'ended without a result: killed, or out of memory or time'


def _queued(array_id: str) -> set[str] | None:
  """The array's tasks that SLURM will still run (pending, running, requeued...); None when
  slurmctld does not answer (then no task counts as ended without its result)."""
  out = subprocess.run(['squeue', '--noheader', '--array', '--states=all', f'--jobs={array_id}',
                        '--format=%i %T'], capture_output=True, text=True, check=False)
  if out.returncode != 0:
    return None
  return {job_id for job_id, state in (line.split() for line in out.stdout.splitlines())
          if state not in _ENDED}


def _last_line(text: str) -> str:
  lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
  return lines[-1] if lines else 'no message'
