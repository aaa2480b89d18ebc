"""Kills a short trial with SIGKILL at every moment of its life, resumes it, and checks that it
ends as the straight run does: the same eval rows (steps and metrics), none lost, duplicated
or extra. Also reports what a resume costs in timed training.

    python scripts/kill_sweep.py [--interval 0.1] [--max_global_steps 200] [--first 0.5]

A straight run comes first; then, for t = first, first + interval, ... up to the straight
run's wall time, a fresh run is killed t seconds after it starts and resumed with --resume
(resumed again should the resume itself be cut short). Prints one line per kill and a
summary: kills, identical, and the median timed seconds to the end of straight and resumed
runs (compilation of the first step counts as timed, as AlgoPerf counts it; the resumed run
reads its compiled programs from the trial's compilation cache).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
METRIC_COLUMNS = ('global_step', 'train/loss', 'validation/accuracy', 'validation/loss',
                  'test/accuracy')


def _command(experiment_dir: Path, settings: argparse.Namespace, *extra: str) -> list[str]:
  return [sys.executable, '-m', 'avgperf.cli', 'run', '--no_progress', '--workload=digits',
          '--submission=baseline', f'--experiment_dir={experiment_dir}', '--rng_seed=0',
          f'--eval_every_steps={settings.eval_every_steps}',
          f'--max_global_steps={settings.max_global_steps}', *extra]


def _rows(experiment_dir: Path) -> list[dict]:
  path = experiment_dir / 'digits_jax' / 'trial_1' / 'eval_measurements.csv'
  if not path.exists():
    return []
  with open(path, newline='') as f:
    return list(csv.DictReader(f))


def _summary(rows: list[dict]) -> list[tuple]:
  return [tuple(r[c] for c in METRIC_COLUMNS) for r in rows]


def _run_killed(experiment_dir: Path, settings, after: float) -> None:
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
  process = subprocess.Popen(_command(experiment_dir, settings), cwd=REPO, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  time.sleep(after)
  if process.poll() is None:
    process.send_signal(signal.SIGKILL)
  process.wait()


def _resume(experiment_dir: Path, settings) -> subprocess.CompletedProcess:
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
  return subprocess.run(_command(experiment_dir, settings, '--resume'), cwd=REPO, env=env,
                        capture_output=True, text=True, check=False)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--interval', type=float, default=0.1, help='seconds between kills')
  parser.add_argument('--first', type=float, default=0.5, help='the first kill, in seconds')
  parser.add_argument('--max_global_steps', type=int, default=200)
  parser.add_argument('--eval_every_steps', type=int, default=20)
  args = parser.parse_args()
  root = Path(tempfile.mkdtemp(prefix='avgperf_kill_sweep_'))
  try:
    start = time.perf_counter()
    straight_dir = root / 'straight'
    subprocess.run(_command(straight_dir, args), cwd=REPO, check=True,
                   capture_output=True)
    wall = time.perf_counter() - start
    straight = _rows(straight_dir)
    print(f'straight run: {wall:.1f} s wall, {len(straight)} evals, '
          f'{float(straight[-1]["score"]):.2f} s timed', flush=True)
    kills = identical = 0
    timed = []
    after = args.first
    while after < wall:
      run_dir = root / f'kill_{kills}'
      _run_killed(run_dir, args, after)
      before = len(_rows(run_dir))
      for _ in range(3):
        done = _resume(run_dir, args)
        if done.returncode == 0:
          break
      rows = _rows(run_dir)
      same = done.returncode == 0 and _summary(rows) == _summary(straight)
      identical += same
      if rows and int(rows[-1].get('preemption_count', 0) or 0) > 0:
        timed.append(float(rows[-1]['score']))
      print(f'kill at {after:5.2f} s: {before:2d} evals logged before, resumed to '
            f'{len(rows)}: {"identical" if same else "DIFFERENT"}', flush=True)
      kills += 1
      after += args.interval
      shutil.rmtree(run_dir, ignore_errors=True)
    print(f'{identical} of {kills} killed trials resumed to the straight run\'s rows; timed '
          f'seconds to the end: straight {float(straight[-1]["score"]):.2f}, resumed median '
          f'{statistics.median(timed) if timed else float("nan"):.2f} (over {len(timed)} that '
          'had a checkpoint to resume from)')
  finally:
    shutil.rmtree(root, ignore_errors=True)


if __name__ == '__main__':
  main()
