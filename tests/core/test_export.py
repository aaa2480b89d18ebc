"""A trial's final weights as an artifact: exported as .npz or orbax, reloaded into the
workload's model, they reproduce the validation metric the trial logged."""

import csv
import os
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp

from avgperf import final_params
from tests.conftest import REPO
from workloads.digits.workload import DigitsWorkload


def _avgperf(*args):
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
  out = subprocess.run([sys.executable, '-m', 'avgperf.cli', *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-2000:]
  return out


def test_exported_weights_reproduce_the_logged_metrics(tmp_path):
  _avgperf('run', '--no_progress', '--submission=nadamw_many_averages',
           f'--experiment_dir={tmp_path / "exp"}', '--max_global_steps=100',
           '--eval_every_steps=50')
  trial = tmp_path / 'exp' / 'digits_jax' / 'trial_1'
  with open(trial / 'eval_measurements.csv', newline='') as f:
    last = list(csv.DictReader(f))[-1]
  _avgperf('export', str(trial), '--average=ema_0.9', f'--out={tmp_path / "ema.npz"}')
  _avgperf('export', str(trial), '--average=evaluated', f'--out={tmp_path / "evaluated"}')

  workload = DigitsWorkload()
  rng = jax.random.fold_in(jax.random.PRNGKey(0), 0)
  with np.load(tmp_path / 'ema.npz') as f:
    ema = final_params.unflatten(dict(f))
  evaluated = ocp.StandardCheckpointer().restore(tmp_path / 'evaluated')
  for tree, column in ((ema, 'validation/ema_0.9/accuracy'),
                       (evaluated, 'validation/accuracy')):
    metrics = workload.eval_model(tree['params'], tree.get('model_state', {}), rng)
    assert metrics['validation/accuracy'] == float(last[column]), column
