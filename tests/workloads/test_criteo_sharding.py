"""DLRM's embedding table on 4 CPU devices: split by rows (each device holds a quarter), not
replicated; the lookup where the rows live gives the single-device loss and gradients; copies
and optimizer steps keep the split."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = r"""
import os
os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=4'
import json
import jax
import jax.numpy as jnp
import numpy as np
from avgperf import sharding, spec, submission_loader, tuning
from submissions.averagers._base import float32_copy
from workloads import registry
from workloads.criteo1tb.model import DlrmSmall
from workloads.criteo1tb.workload import DlrmWorkload


class OddVocab(DlrmWorkload):  # 1,022 rows do not split over 4 devices: replicated
  vocab_size, embed_dim, mlp_bottom_dims, mlp_top_dims = 1_022, 8, (16, 8), (16, 1)

  def input_iterator(self, *args, **kwargs):
    raise NotImplementedError


def batch_of(size, seed):
  rng = np.random.default_rng(seed)
  counts = np.log1p(rng.integers(0, 100, (size, 13)))
  ids = rng.integers(0, 40_000_000, (size, 26))
  return {'inputs': np.concatenate([counts, ids], 1).astype(np.float32),
          'targets': rng.integers(0, 2, size).astype(np.float32),
          'weights': np.ones(size, np.float32)}


def single_device(w, params, batch):
  # The same model with a plain gather, every array on device 0.
  model = DlrmSmall(vocab_size=w.vocab_size, embed_dim=w.embed_dim,
                    mlp_bottom_dims=w.mlp_bottom_dims, mlp_top_dims=w.mlp_top_dims)
  one = jax.devices()[0]
  params, batch = jax.device_put(jax.device_get((params, batch)), one)
  def loss(p):
    logits = model.apply({'params': p}, batch['inputs'], train=False)
    return w.loss_fn(batch['targets'], logits, batch['weights'])['summed']
  return jax.jit(jax.value_and_grad(loss))(params)


def compare(w, batch_size):
  params, _ = w.init_model_fn(jax.random.PRNGKey(0))
  params = sharding.place_params(params, w.param_partition_specs())
  host_batch = batch_of(batch_size, 1)
  batch = (sharding.place_batch(host_batch) if batch_size % 4 == 0
           else jax.device_put(host_batch, sharding.get_replicate_sharding()))
  def loss(p):
    logits, _ = w.model_fn(p, batch, {}, spec.ForwardPassMode.EVAL, None, False)
    return w.loss_fn(batch['targets'], logits, batch['weights'])['summed']
  value, grads = jax.jit(jax.value_and_grad(loss))(params)
  value1, grads1 = single_device(w, params, host_batch)
  table = params['embedding_table']
  return params, {
      'loss': float(value), 'single_device_loss': float(value1),
      'grad_error': max(float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(b).max())
                        for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(grads1))),
      'table_shards': [list(s.data.shape) for s in table.addressable_shards],
      'table_replicated': table.sharding.is_fully_replicated,
      'grad_table_shards': [list(s.data.shape)
                            for s in grads['embedding_table'].addressable_shards],
      'others_replicated': all(x.sharding.is_fully_replicated for k, v in params.items()
                               if k != 'embedding_table' for x in jax.tree.leaves(v)),
  }


out = {'devices': jax.device_count()}
w = registry.get('criteo1tb_small')
params, out['batch_64'] = compare(w, 64)
_, out['batch_6'] = compare(w, 6)  # the batch does not split: the lookup's psum path
_, out['odd_vocab'] = compare(OddVocab(), 64)

shards = lambda x: [list(s.data.shape) for s in x.addressable_shards]
copied = jax.jit(lambda p: jax.tree.map(lambda q: q * 1.0, p))(params)
out['jit_copy'] = shards(copied['embedding_table'])
out['float32_copy'] = shards(float32_copy(params)['embedding_table'])

baseline = submission_loader.load('baseline')
hparams = tuning.make_hyperparameters(tuning.load_search_space(baseline.default_search_space)[0])
opt_state = sharding.replicate_unplaced(baseline.init_optimizer_state(
    w, params, {}, hparams, jax.random.PRNGKey(1)))
for step in range(2):
  opt_state, params, _ = baseline.update_params(
      w, params, None, {}, hparams, sharding.place_batch(batch_of(64, 2 + step)), None,
      opt_state, [], step, jax.random.PRNGKey(step))
out['after_steps'] = shards(params['embedding_table'])
out['moments'] = [shards(x) for x in jax.tree.leaves(opt_state)
                  if getattr(x, 'shape', None) == params['embedding_table'].shape]
print(json.dumps(out))
"""


@pytest.fixture(scope='module')
def on_four_devices():
  result = subprocess.run([sys.executable, '-c', _SCRIPT], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_table_is_split_by_rows_not_replicated(on_four_devices):
  out = on_four_devices
  assert out['devices'] == 4
  quarter = [65_536 // 4, 32]
  assert out['batch_64']['table_shards'] == [quarter] * 4
  assert not out['batch_64']['table_replicated']
  assert out['batch_64']['others_replicated']
  assert out['batch_64']['grad_table_shards'] == [quarter] * 4  # never all-reduced
  assert out['odd_vocab']['table_replicated']


@pytest.mark.parametrize('case', ['batch_64', 'batch_6', 'odd_vocab'])
def test_the_split_lookup_gives_the_single_device_loss_and_gradients(on_four_devices, case):
  result = on_four_devices[case]
  assert result['loss'] == pytest.approx(result['single_device_loss'], rel=1e-5)
  assert result['grad_error'] < 1e-5  # relative to each gradient's largest entry


def test_copies_and_optimizer_steps_keep_the_split(on_four_devices):
  quarter = [[65_536 // 4, 32]] * 4
  assert on_four_devices['jit_copy'] == quarter
  assert on_four_devices['float32_copy'] == quarter
  assert on_four_devices['after_steps'] == quarter
  assert on_four_devices['moments'] == [quarter, quarter]  # NAdamW's two moments
