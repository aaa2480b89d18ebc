"""Extending the benchmark as a user does, in modules outside the repository: a 30-line
workload and a 20-line averager, run together through the CLI. Nothing of the repository is
edited: the workload carries its facts, the averager is attached by the library's wrapper
and its columns appear with no further wiring."""

import csv
import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO

WORKLOAD = '''
import jax.numpy as jnp, numpy as np
from avgperf import spec
from configs.workloads import WorkloadFacts
from workloads.common import batching
from workloads.common.facts import with_facts

_W = np.random.default_rng(0).normal(size=(5, 1)).astype(np.float32)
_X = np.random.default_rng(1).normal(size=(600, 5)).astype(np.float32)
DATA = {'inputs': _X, 'targets': _X @ _W}

@with_facts(WorkloadFacts('loss', 'min', 0.01, None, 60, 400, 0.05, 32))
class LinearRegression(spec.Workload):
  name, num_train_examples, num_validation_examples, eval_batch_size = 'linreg', 600, 200, 100
  loss_type = spec.LossType.MEAN_SQUARED_ERROR
  def init_model_fn(self, rng):
    return {'w': jnp.zeros((5, 1))}, {}
  def model_fn(self, params, batch, model_state, mode, rng, update_batch_norm,
               dropout_rate=None, use_running_average_bn=None):
    return batch['inputs'] @ params['w'], model_state
  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    mask = jnp.ones(len(label_batch)) if mask_batch is None else mask_batch
    per_example = jnp.sum((logits_batch - label_batch) ** 2, axis=-1) * mask
    return {'summed': per_example.sum(), 'n_valid_examples': mask.sum(), 'per_example': per_example}
  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    if split == 'train':
      return batching.train_batches(DATA, global_batch_size, rng, start_step)
    return batching.eval_batches({k: v[:200] for k, v in DATA.items()}, global_batch_size)
  def eval_batch(self, params, model_state, batch, rng):
    out, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng, False)
    return {'loss': self.loss_fn(batch['targets'], out, batch['weights'])['summed']}
'''

AVERAGER = '''
import jax, jax.numpy as jnp
from submissions.averagers import Averager

def running_mean(start: int = 1) -> Averager:
  """The uniform mean of the params from update `start` on (Polyak-Ruppert)."""
  def init(params):
    return {'sum': jax.tree.map(lambda p: jnp.zeros_like(p, jnp.float32), params),
            'count': jnp.zeros([], jnp.int32)}
  def update(params, state, t):
    take = t >= start
    total = jax.tree.map(lambda s, p: s + jnp.where(take, p, 0.0), state['sum'], params)
    return {'sum': total, 'count': state['count'] + take.astype(jnp.int32)}
  def result(state, params):
    n = jnp.maximum(state['count'], 1)
    mean = jax.tree.map(lambda s, p: (s / n).astype(p.dtype), state['sum'], params)
    return jax.tree.map(lambda m, p: jnp.where(state['count'] > 0, m, p), mean, params)
  return Averager(init, update, result)
'''

SUBMISSION = '''
"""The baseline with a running mean of its weights logged beside them."""
import running_mean
from submissions import averagers, baseline
from submissions.common.optax_submission import OptaxSubmission

SUBMISSION = OptaxSubmission(make_tx=lambda w, h: averagers.with_averages(
    baseline.make_tx(w, h), {'mean_from_100': running_mean.running_mean(100)}))
'''


def test_a_new_workload_and_a_new_averager_run_through_the_cli(tmp_path):
  for name, text in (('linreg.py', WORKLOAD), ('running_mean.py', AVERAGER),
                     ('submission.py', SUBMISSION)):
    (tmp_path / name).write_text(textwrap.dedent(text))
  point = json.loads((REPO / 'configs' / 'search_spaces' / 'baseline.json').read_text())[0]
  (tmp_path / 'tuning_search_space.json').write_text(json.dumps([point]))
  env = {**os.environ, 'PYTHONPATH': f'{tmp_path}{os.pathsep}{REPO}'}
  out = subprocess.run(
      [sys.executable, '-m', 'avgperf.cli', 'run', '--no_progress',
       f'--workload={tmp_path / "linreg.py"}:LinearRegression',
       f'--submission={tmp_path / "submission.py"}', f'--experiment_dir={tmp_path / "exp"}',
       '--eval_every_steps=50', '--max_global_steps=300'],
      cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-3000:]
  trial = tmp_path / 'exp' / 'linreg_jax' / 'trial_1'
  with open(trial / 'eval_measurements.csv', newline='') as f:
    rows = list(csv.DictReader(f))
  assert float(rows[-1]['validation/loss']) < float(rows[0]['validation/loss'])
  # The average appears from step 100 on, under its own columns, with no wiring.
  assert float(rows[-1]['validation/mean_from_100/loss']) < float(rows[0]['validation/loss'])
  # A file named submission.py is named after its folder, as in AlgoPerf's layout.
  assert json.loads((trial / 'meta_data.json').read_text())['submission'] == tmp_path.name
  assert not (tmp_path / '__pycache__').exists()  # loading wrote nothing beside the files
