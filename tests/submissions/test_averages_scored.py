"""The defect of issue 11, through the command line: in a run that carries several averages,
an EMA that reaches the target after the raw weights gets a finite time-to-target from
`avgperf score --averages` (the trial goes on until every average has reached the target,
or its steps run out)."""

import csv
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _cli(*args):
  out = subprocess.run([sys.executable, '-m', 'avgperf', *args], cwd=REPO, capture_output=True,
                       text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  return out.stdout


def _table(path):
  with open(path, newline='') as f:
    return {row['submission']: float(row['digits']) for row in csv.DictReader(f)}


def test_an_ema_slower_than_the_raw_weights_gets_its_own_time_to_target(tmp_path):
  experiment = tmp_path / 'experiment'
  _cli('run', '--workload=digits', '--submission=nadamw_many_averages',
       f'--experiment_dir={experiment}', '--max_global_steps=600', '--eval_every_steps=25',
       '--no_progress')
  trial = experiment / 'digits_jax' / 'trial_1'
  with open(trial / 'eval_measurements.csv', newline='') as f:
    rows = list(csv.DictReader(f))
  # ema_0.999 does not get there in 600 steps: the trial did not stop at the raw weights'
  # target but ran on, to its last step or to the end of its budget on a slow machine.
  assert (trial / 'status').read_text().strip() in ('max_steps', 'budget_exhausted')

  _cli('score', str(experiment), '--averages', '--num_studies=1', '--workloads=digits',
       f'--out={tmp_path / "scores"}')
  steps = _table(tmp_path / 'scores' / 'steps_to_target.csv')
  seconds = _table(tmp_path / 'scores' / 'time_to_target.csv')
  raw = 'nadamw_many_averages'
  assert math.isfinite(steps[raw])
  assert int(rows[-1]['global_step']) > steps[raw]
  later = [name for name in steps if name.startswith(f'{raw}[ema_')
           and math.isfinite(steps[name]) and steps[name] > steps[raw]]
  assert later, steps  # measured: raw weights at step 350, ema_0.9 at 400, ema_0.99 at 450
  assert all(seconds[name] > seconds[raw] for name in later)
  assert math.isinf(steps[f'{raw}[ema_0.999]'])
