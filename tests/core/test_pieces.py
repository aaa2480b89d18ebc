"""Independent checks of the pieces the runner relies on: NAdamW, batching, logs."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import trial_files
from submissions.optimizers import nadamw
from workloads.common import batching


def test_nadamw_matches_a_hand_written_loop():
  lr, b1, b2, eps, wd = 0.01, 0.9, 0.99, 1e-8, 0.1
  rng = np.random.default_rng(0)
  grads = rng.normal(size=(6, 3))
  w = np.array([1.0, -2.0, 0.5])
  tx = nadamw(lr, b1, b2, eps, weight_decay=wd)
  params = jnp.asarray(w)
  state = tx.init(params)
  m = v = np.zeros(3)
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = (b1 * m + (1 - b1) * g) / (1 - b1 ** t)
    v_hat = v / (1 - b2 ** t)
    w = w - lr * (m_hat / (np.sqrt(v_hat) + eps) + wd * w)
    updates, state = tx.update(jnp.asarray(g, jnp.float32), state, params)
    params = params + updates
  np.testing.assert_allclose(params, w, rtol=1e-5)


def test_train_batches_resume_exactly_and_cover_each_epoch():
  arrays = {'x': np.arange(10), 'y': np.arange(10) * 2}
  key = jax.random.PRNGKey(4)
  stream = batching.train_batches(arrays, 4, key)
  first = [next(stream) for _ in range(10)]
  xs = np.concatenate([b['x'] for b in first])
  for epoch in range(4):
    assert sorted(xs[10 * epoch:10 * (epoch + 1)]) == list(range(10))
  assert all((b['y'] == 2 * b['x']).all() for b in first)
  resumed = batching.train_batches(arrays, 4, key, start_step=7)
  for expected in first[7:]:
    np.testing.assert_array_equal(next(resumed)['x'], expected['x'])


def test_eval_batches_pad_and_weight_every_example_once():
  arrays = {'x': np.arange(7, dtype=np.float32)}
  batches = list(batching.eval_batches(arrays, 3))
  assert [len(b['x']) for b in batches] == [3, 3, 3]
  weights = np.concatenate([b['weights'] for b in batches])
  xs = np.concatenate([b['x'] for b in batches])
  assert weights.sum() == 7
  assert sorted(xs[weights == 1]) == list(range(7))


def test_eval_log_is_valid_after_each_append_and_reloads(tmp_path):
  path = tmp_path / trial_files.EVAL_MEASUREMENTS
  log = trial_files.EvalLog(path)
  log.append({'global_step': 10, 'score': 1.5, 'validation/accuracy': 0.5})
  log.append({'global_step': 20, 'score': 3.0, 'validation/accuracy': math.nan,
              'validation/ema_0.9/accuracy': 0.25})
  header = path.read_text().splitlines()[0].split(',')
  assert header == sorted(header)
  reloaded = trial_files.EvalLog.load(path)
  assert reloaded.rows[0]['global_step'] == 10 and reloaded.rows[1]['score'] == 3.0
  assert math.isnan(reloaded.rows[1]['validation/accuracy'])
  assert math.isnan(reloaded.rows[0]['validation/ema_0.9/accuracy'])
  assert [r['global_step'] for r in trial_files.EvalLog.load(path, up_to_step=15).rows] == [10]
  assert not list(tmp_path.glob('.*.tmp'))
