"""TWA: recovering the optimum of a quadratic whose minimiser lies in the checkpoints' span,
with and without quantisation; the held-out split and TWA-v's batches; the basis sharded
across devices. (The reference code's loops: test_twa_references.py.)"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from submissions import optimizers

N = 4  # checkpoints


def replay(points):
  """An inner optimizer whose k-th update moves the params to points[k]."""
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *points)

  def init(params):
    return jnp.zeros([], jnp.int32)

  def update(grads, count, params):
    target = jax.tree.map(lambda s: s[jnp.minimum(count, len(points) - 1)], stacked)
    return jax.tree.map(lambda t, p: t - p, target, params), count + 1

  return optax.GradientTransformation(init, update)


def problem(seed=0):
  """Checkpoints c_1..c_N and a quadratic whose minimiser is, leaf by leaf, an affine
  combination of them (so it lies in the span TWA searches)."""
  rng = np.random.default_rng(seed)
  shapes = {'dense': {'kernel': (6, 5)}, 'bias': (7,)}
  checkpoints = [jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s), jnp.float32), shapes,
                              is_leaf=lambda x: isinstance(x, tuple)) for _ in range(N)]
  coeffs = jax.tree.map(lambda s: rng.normal(size=N), shapes, is_leaf=lambda x: isinstance(x, tuple))
  coeffs = jax.tree.map(lambda b: b - b.mean() + 1.0 / N, coeffs)  # affine: sum to 1
  optimum = jax.tree.map(lambda b, *cs: sum(bi * np.asarray(c, np.float64) for bi, c in zip(b, cs)),
                         coeffs, *checkpoints)
  curvature = jax.tree.map(lambda o: rng.uniform(0.5, 2.0, size=o.shape), optimum)

  def loss(p):
    return sum(jnp.sum(0.5 * a * (w - o) ** 2) for w, o, a in
               zip(jax.tree.leaves(p), jax.tree.leaves(optimum), jax.tree.leaves(curvature)))

  params = jax.tree.map(jnp.zeros_like, checkpoints[0])
  return params, checkpoints, optimum, loss


def train_twa(bits=None, steps=400, shard_basis=False, seed=0, per_phase=False):
  """Trains TWA; with `per_phase`, one program per phase, chosen by the step count."""
  params, checkpoints, optimum, loss = problem(seed)
  make = lambda phase: optimizers.trainable_weight_averaging(
      replay(checkpoints), num_checkpoints=N, every=1, switch=N, learning_rate=0.05, bits=bits,
      shard_basis=shard_basis, phase=phase)
  txs = {phase: make(phase) for phase in ((1, 2) if per_phase else (None,))}
  steps_by_phase = {k: jax.jit(lambda p, s, tx=tx: tx.update(jax.grad(loss)(p), s, p))
                    for k, tx in txs.items()}
  state = next(iter(txs.values())).init(params)
  trajectory = []
  for t in range(N + steps):
    step = steps_by_phase[None if not per_phase else (1 if t < N else 2)]
    updates, state = step(params, state)
    params = optax.apply_updates(params, updates)
    trajectory.append(params)
  return trajectory, state, checkpoints, optimum


def test_twa_stores_checkpoints_then_starts_from_their_mean():
  trajectory, state, checkpoints, _ = train_twa(steps=0)
  mean = jax.tree.map(lambda *cs: np.mean(cs, axis=0), *checkpoints)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6),
               trajectory[N - 1], mean)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6),
               state.mean, mean)
  # (The replayed checkpoints arrive as params + (c - params): equal up to rounding.)
  jax.tree.map(lambda a, *cs: np.testing.assert_allclose(a, np.stack(cs), rtol=1e-6, atol=1e-6),
               state.basis, *checkpoints)


def test_twa_recovers_the_optimum_in_the_span():
  trajectory, state, _, optimum = train_twa()
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-3), trajectory[-1], optimum)
  # Far from it at the start (the mean), so the coefficients did the work.
  start_error = max(np.abs(a - b).max() for a, b in
                    zip(jax.tree.leaves(trajectory[N - 1]), jax.tree.leaves(optimum)))
  assert start_error > 0.1
  assert {c.shape for c in jax.tree.leaves(state.coeffs)} == {(N,)}


def test_twa_with_quantisation_is_close_to_without():
  exact, *_ = train_twa()
  scale = max(np.abs(x).max() for x in jax.tree.leaves(exact[-1]))
  errors = {}
  for bits in (8, 4):
    quantised, state, *_ = train_twa(bits=bits)
    assert {c.dtype for c in jax.tree.leaves(state.codes)} == {jnp.dtype('uint8')}
    errors[bits] = max(np.abs(a - b).max() for a, b in
                       zip(jax.tree.leaves(quantised[-1]), jax.tree.leaves(exact[-1])))
  assert errors[8] < 0.01 * scale
  assert errors[8] < errors[4]


def test_quantize_round_trips_within_half_a_step():
  x = jax.random.normal(jax.random.PRNGKey(0), (3, 50))
  codes, scale, offset = optimizers.quantize(x, 6)
  back = optimizers._twa.dequantize(codes, scale, offset)
  assert np.all(np.abs(back - x) <= scale[:, None] / 2 + 1e-6)
  assert int(codes.max()) == 63


def test_holdout_mask_depends_on_the_example_only():
  x = jax.random.normal(jax.random.PRNGKey(1), (4000, 8, 8, 1))
  mask = optimizers.holdout_mask(x, 0.2)
  assert 0.17 < float(mask.mean()) < 0.23
  perm = np.random.default_rng(0).permutation(4000)
  np.testing.assert_array_equal(optimizers.holdout_mask(x[perm], 0.2), mask[perm])
  assert not np.array_equal(optimizers.holdout_mask(x, 0.2, salt=1), mask)


def test_sharded_basis_matches_one_device(tmp_path):
  repo = Path(__file__).resolve().parents[2]
  script = textwrap.dedent(f"""
      import jax, numpy as np
      from tests.submissions import test_twa
      assert jax.device_count() == 2
      traj, state, _, _ = test_twa.train_twa(steps=30, shard_basis=True)
      spec = jax.tree.leaves(state.basis)[0].sharding.spec
      np.savez({str(tmp_path / 'out.npz')!r}, *[np.asarray(x) for x in jax.tree.leaves(traj[-1])])
      print('SPEC', spec)
  """)
  # Two virtual devices: with more devices than the CPU runtime's threads, XLA's CPU
  # collectives inside a conditional can wait on each other forever (seen with 4 on 2 cores).
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=2',
             JAX_PLATFORMS='cpu', PYTHONPATH=str(repo))
  out = subprocess.run([sys.executable, '-c', script], env=env, cwd=repo, capture_output=True,
                       text=True, timeout=120)
  assert out.returncode == 0, out.stderr[-3000:]
  assert "SPEC P('checkpoints',)" in out.stdout
  sharded = np.load(tmp_path / 'out.npz')
  single, *_ = train_twa(steps=30)
  for got, want in zip([sharded[f'arr_{i}'] for i in range(len(sharded.files))],
                       jax.tree.leaves(single[-1])):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def _batches(seed, n_batches=6, size=16):
  rng = np.random.default_rng(seed)
  return [{'inputs': jnp.asarray(rng.normal(size=(size, 8, 8, 1)), jnp.float32),
           'targets': jnp.asarray(rng.integers(0, 10, size), jnp.int32)}
          for _ in range(n_batches)]


def test_training_rows_hold_no_held_out_example():
  (batch,) = _batches(0, 1, 64)
  held_out = np.asarray(optimizers.holdout_mask(batch['inputs'], 0.25))
  assert 0 < held_out.sum() < 64
  out = optimizers.training_rows(batch, 0.25)
  assert not np.asarray(optimizers.holdout_mask(out['inputs'], 0.25)).any()
  np.testing.assert_array_equal(out['weights'], (~held_out).astype(np.float32))
  kept = ~held_out  # the training rows stay where they were, with their targets
  np.testing.assert_array_equal(np.asarray(out['inputs'])[kept], np.asarray(batch['inputs'])[kept])
  np.testing.assert_array_equal(np.asarray(out['targets'])[kept],
                                np.asarray(batch['targets'])[kept])


def test_held_out_batches_are_made_of_held_out_examples_in_order():
  batches = _batches(1)
  held = [np.asarray(b['inputs'])[np.asarray(optimizers.holdout_mask(b['inputs'], 0.3))]
          for b in batches]
  stream = np.concatenate(held)
  maker = optimizers.HeldOutBatches(0.3)
  queue = iter(batches)
  made = [maker.next(queue) for _ in range(len(stream) // 16)]
  assert all(b['inputs'].shape == (16, 8, 8, 1) for b in made)
  np.testing.assert_array_equal(np.concatenate([np.asarray(b['inputs']) for b in made]),
                                stream[:16 * len(made)])  # leftovers carried over, none lost
  assert len(made) >= 1
  with pytest.raises(StopIteration):  # a new queue starts afresh
    maker.next(iter(batches[:1]))


def test_held_out_loss_does_not_depend_on_training_examples():
  """Batch-norm statistics of a held-out batch come from held-out examples alone: changing
  only the training examples of the stream leaves the held-out batches, and so their loss
  under a batch-norm model, unchanged (with masked weights, as before, the issue measured
  it moving from 1.56 to 3.16)."""
  batches = _batches(2)
  pool = [x for b in _batches(3, 20) for x, held in zip(
      np.asarray(b['inputs']), np.asarray(optimizers.holdout_mask(b['inputs'], 0.3))) if not held]
  changed = []
  for b in batches:
    mask = np.asarray(optimizers.holdout_mask(b['inputs'], 0.3))
    inputs = np.asarray(b['inputs']).copy()
    inputs[~mask] = np.stack([pool.pop() for _ in range(int((~mask).sum()))])
    changed.append({**b, 'inputs': jnp.asarray(inputs)})
  first = optimizers.HeldOutBatches(0.3).next(iter(batches))
  second = optimizers.HeldOutBatches(0.3).next(iter(changed))
  jax.tree.map(np.testing.assert_array_equal, first, second)
