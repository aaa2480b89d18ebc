"""Cooldown branches against separate runs whose schedule is the same constant rate followed
by the cooldown (the WSD runs a branch stands for), on the same noisy gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from submissions import averagers, optimizers, schedules
from submissions.optimizers import nadamw
from tests.submissions import helpers

LR, STEPS, COOLDOWN = 0.05, 40, 8
BRANCHES = (10, 25)


def noisy_grad(loss, noises, t):
  return lambda p: jax.grad(loss)(p, noises[t])


def test_branch_endpoints_equal_separate_cooldown_runs():
  params, loss = helpers.quadratic_problem()
  noises = np.random.default_rng(5).normal(size=STEPS).astype(np.float32) * 0.3
  inner = nadamw(LR, b1=0.9, b2=0.99, weight_decay=0.1)
  tx = optimizers.cooldown_branches(inner, BRANCHES, COOLDOWN, shape='1-sqrt')

  @jax.jit
  def step(p, s, noise):
    grad_fn = lambda q: jax.grad(loss)(q, noise)
    updates, s = tx.update(grad_fn(p), s, p, grad_fn=grad_fn)
    return optax.apply_updates(p, updates), s

  state, p = tx.init(params), params
  main = []
  for t in range(STEPS):
    p, state = step(p, state, noises[t])
    main.append(p)
    ended = tx.averages(state, None)
    assert sorted(ended) == [optimizers.branch_name(s, COOLDOWN) for s in BRANCHES
                             if t + 1 >= s + COOLDOWN]

  # The main run is the plain constant-rate run.
  q, s = params, inner.init(params)
  for t in range(STEPS):
    updates, s = inner.update(jax.grad(loss)(q, noises[t]), s, q)
    q = optax.apply_updates(q, updates)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), main[-1], q)

  for start in BRANCHES:
    wsd = schedules.wsd(LR, total_steps=start + COOLDOWN, cooldown_fraction=COOLDOWN / (start + COOLDOWN),
                        shape='1-sqrt')
    ref_tx = nadamw(wsd, b1=0.9, b2=0.99, weight_decay=0.1)
    q, s = params, ref_tx.init(params)
    for t in range(start + COOLDOWN):
      updates, s = ref_tx.update(jax.grad(loss)(q, noises[t]), s, q)
      q = optax.apply_updates(q, updates)
    got = tx.averages(state, None)[optimizers.branch_name(start, COOLDOWN)]
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), got, q)
    # And it differs from the main run at that step (the cooldown did something).
    assert not np.allclose(got['bias'], main[start + COOLDOWN - 1]['bias'], atol=1e-4)


def test_overlapping_windows_are_rejected():
  with pytest.raises(ValueError, match='overlap'):
    optimizers.cooldown_branches(optax.sgd(0.1), (10, 12), 5)


def test_branches_need_grad_fn():
  tx = optimizers.cooldown_branches(optax.sgd(0.1), (1,), 2)
  params = {'w': jnp.ones(2)}
  with pytest.raises(ValueError, match='grad_fn'):
    tx.update({'w': jnp.ones(2)}, tx.init(params), params)
