"""Helpers of the launcher tests: a small digits suite run by `avgperf suite` processes, and
what of its folder must not depend on how it was launched."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import scoring
from avgperf import suite
from avgperf import trial_files

REPO = Path(__file__).resolve().parents[2]
NUM_STUDIES = 3
EVAL_EVERY_STEPS = 10  # evals (and checkpoints) at the same steps in every run
# The quick suite's digits workload with the baseline, one trial in each of three studies.
SUITE_FLAGS = ('--suite=quick', '--submissions=baseline', f'--num_studies={NUM_STUDIES}',
               f'--eval_every_steps={EVAL_EVERY_STEPS}')
TIMEOUT_SEC = 600


def start(experiment_dir: Path, *flags: str) -> subprocess.Popen:
  """`avgperf suite` on the small suite, in the background, its output captured."""
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2',
         'PYTHONPATH': os.pathsep.join(filter(None, [str(REPO), os.environ.get('PYTHONPATH')]))}
  return subprocess.Popen(
      [sys.executable, '-m', 'avgperf.cli', 'suite', *SUITE_FLAGS,
       f'--experiment_dir={experiment_dir}', *flags],
      cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen) -> str:
  """Its output, once it has exited with code 0."""
  out, _ = process.communicate(timeout=TIMEOUT_SEC)
  assert process.returncode == 0, out
  return out


def suite_run(experiment_dir: Path) -> suite.SuiteRun:
  return suite.make_run('quick', experiment_dir, ['baseline'], NUM_STUDIES,
                        eval_every_steps=EVAL_EVERY_STEPS)


def trial_dirs(experiment_dir: Path) -> list[Path]:
  """The suite's trial folders, in task order (array task i runs the i-th)."""
  run = suite_run(experiment_dir)
  return [suite.trial_dir(run, task) for task in suite.tasks(run)]


def rows(trial_dir: Path) -> list[dict]:
  return trial_files.EvalLog.load(trial_dir / trial_files.EVAL_MEASUREMENTS).rows


def outcome(experiment_dir: Path) -> dict:
  """What a launcher must not change: each trial's status and evals (steps and metrics) and
  the scores by steps (time depends on the machine's load)."""
  trials = {}
  for trial_dir in trial_dirs(experiment_dir):
    evals = [{k: v for k, v in row.items()
              if k == trial_files.STEP_COLUMN or trial_files.parse_column(k)}
             for row in rows(trial_dir)]
    trials[trial_dir.relative_to(experiment_dir)] = (trial_files.read_status(trial_dir), evals)
  board = scoring.score_logs(experiment_dir, rules='v0.6', workloads=('digits',),
                             num_studies=NUM_STUDIES, num_trials=1, time_col='global_step')
  return {'trials': trials, 'steps_to_target': board.steps_to_target.to_dict(),
          'scores': board.scores['score'].to_dict()}


def preemptions(trial_dir: Path) -> int:
  """How many times the trial was resumed (its last row's count)."""
  return int(rows(trial_dir)[-1]['preemption_count'])


def wait_for(condition: Callable[[], object], what: str, timeout_sec: float = TIMEOUT_SEC,
             every_sec: float = 0.2):
  """Polls `condition` until it returns something true, which it returns."""
  deadline = time.monotonic() + timeout_sec
  while time.monotonic() < deadline:
    value = condition()
    if value:
      return value
    time.sleep(every_sec)
  raise AssertionError(f'timed out after {timeout_sec} s waiting for {what}')
