"""`avgperf suite --launcher=slurm` for real: a job array on a SLURM cluster (.ci/start_slurm.sh
starts a one-node one): one task killed mid-run with SIGKILL and requeued by hand, one
preempted (SIGUSR2, as before a time limit: submitit checkpoints and requeues it), one killed
and left failed, which the same command submits again. Each resumes its trial, and the sweep
ends as one local worker's: the same evals, the same scores."""

import os
import shutil
import signal
import subprocess

import pytest

from avgperf import slurm
from avgperf import suite
from avgperf import trial_files
from avgperf.errors import UsageError
from tests.core import launchers


@pytest.fixture(scope='session')
def slurm_cluster():
  """Skips, or in CI fails, without SLURM. Asked for first, so before the reference sweep."""
  if shutil.which('sbatch') is None:
    if os.environ.get('CI'):
      pytest.fail('CI is set but sbatch is missing: .ci/run starts SLURM with '
                  '.ci/start_slurm.sh before the tests')
    pytest.skip('no SLURM here (sbatch not found; .ci/start_slurm.sh starts a one-node cluster)')


def _scontrol(*args: str) -> bool:
  return subprocess.run(['scontrol', *args], capture_output=True).returncode == 0


def _state(task_id: str) -> str:
  return subprocess.run(['squeue', '--noheader', '--states=all', f'--jobs={task_id}',
                         '--format=%T'], capture_output=True, text=True).stdout.strip()


def _release(task_id: str) -> None:
  """SLURM holds a requeued job for two minutes (its BeginTime); start it now instead."""
  launchers.wait_for(lambda: _state(task_id) == 'PENDING', f'{task_id} to be pending again',
                     timeout_sec=60)
  assert _scontrol('update', f'JobId={task_id}', 'StartTime=now')


def _kill(task_id: str) -> None:
  """SIGKILL the task's process, with no warning (a crash, a lost node). (`scancel
  --signal=KILL` would not do: SLURM turns it into its usual cancel, SIGTERM first.)"""
  raw_id = subprocess.run(['squeue', '--noheader', f'--jobs={task_id}', '--format=%A'],
                          capture_output=True, text=True, check=True).stdout.strip()
  pids = subprocess.run(['scontrol', 'listpids', raw_id], capture_output=True, text=True,
                        check=True).stdout.splitlines()[1:]
  # The process srun started: step 0, local task 0.
  pid = next(int(p.split()[0]) for p in pids if p.split()[2:4] == ['0', '0'])
  os.kill(pid, signal.SIGKILL)


def _kill_and_requeue(task_id: str) -> None:
  """Kills the task, then requeues it as an operator would while the array runs (retried
  while SLURM is still ending the task)."""
  _kill(task_id)
  launchers.wait_for(lambda: _scontrol('requeue', task_id),
                     f'scontrol requeue {task_id} to be accepted', timeout_sec=60)
  _release(task_id)


def _preempt(task_id: str) -> None:
  """SIGUSR2, which SLURM sends 90 s before a task's time limit: submitit asks the task's
  callable for its checkpoint and requeues it itself."""
  subprocess.run(['scancel', '--signal=USR2', task_id], check=True)
  _release(task_id)


def _array_id(experiment_dir) -> str:
  """The array's id, from the folder submitit makes for task 0 when the array is submitted."""
  folders = list((experiment_dir / 'slurm').glob('*_0'))
  return folders[0].name.split('_')[0] if folders else ''


def test_without_sbatch_the_launcher_says_so_in_one_line(tmp_path, monkeypatch):
  monkeypatch.setattr(shutil, 'which', lambda name: None)
  run = launchers.suite_run(tmp_path)
  with pytest.raises(UsageError, match=r'needs SLURM \(sbatch is not on the PATH\)'):
    slurm.run(run, suite.tasks(run))
  assert not tmp_path.joinpath('slurm').exists()


def test_slurm_array_with_killed_and_preempted_tasks_ends_as_one_local_worker(
    slurm_cluster, tmp_path, one_worker_sweep):  # pylint: disable=redefined-outer-name
  del slurm_cluster  # asked for its check only
  folder = tmp_path / 'sweep'
  process = launchers.start(folder, '--launcher=slurm', '--workers=2')
  array_id = launchers.wait_for(lambda: _array_id(folder), 'the array to be submitted')
  trials = launchers.trial_dirs(folder)
  # Each interruption in turn, on the next trial seen running past its second eval (so that
  # it has a checkpoint to resume from).
  interruptions = [_kill_and_requeue, _preempt, _kill]
  interrupted = []

  def interrupt_the_next_running_trial() -> bool:
    for index, trial_dir in enumerate(trials):
      if (index not in interrupted and trial_files.read_status(trial_dir) == 'running'
          and len(launchers.rows(trial_dir)) >= 2):
        interruptions[len(interrupted)](f'{array_id}_{index}')
        interrupted.append(index)
        break
    assert process.poll() is None, f'the suite ended first:\n{process.communicate()[0]}'
    return len(interrupted) == len(interruptions)

  launchers.wait_for(interrupt_the_next_running_trial, 'three running trials to interrupt')
  out, _ = process.communicate(timeout=launchers.TIMEOUT_SEC)

  # The task killed and left alone failed, named in one line with its log; the others ended.
  assert process.returncode == 2, out
  assert f'slurm: job array {array_id}, 3 tasks (2 at once)' in out
  assert out.count('slurm: [') == len(trials), out
  error = out.strip().splitlines()[-1]
  lost = trials[interrupted[-1]]
  assert error.startswith('avgperf: error: 1 of 3 SLURM tasks failed: '
                          f'{lost.relative_to(folder)} (ended without a result'), error
  task_id = f'{array_id}_{interrupted[-1]}'
  log = folder / 'slurm' / task_id / f'{task_id}_0_log.err'
  assert f'log {log})' in error and log.exists(), error

  # The same command submits what is left, and the sweep ends as one local worker's.
  again = launchers.finish(launchers.start(folder, '--launcher=slurm', '--workers=2'))
  assert 'suite quick: 3 trials, 1 to run' in again, again
  for trial_dir in trials:
    assert launchers.preemptions(trial_dir) == 1, trial_dir  # each resumed once
  assert launchers.outcome(folder) == launchers.outcome(one_worker_sweep)
