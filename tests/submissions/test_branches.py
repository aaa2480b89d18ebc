"""Cooldown branches against separate runs: each branch's endpoint is that of a WSD run of
the branch's own length (the same constant rate, then the cooldown), on the same noisy
gradients; for the library function and for `wsd_branches` as submitted."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from avgperf import tuning
from submissions import optimizers, schedules, wsd_branches
from submissions.optimizers import nadamw
from tests.submissions import helpers

LR, STEPS = 0.05, 40
BRANCHES, LENGTHS = (10, 25), (6, 9)


def run_with_branches(tx, params, loss, noises):
  """(raw params after each update, final state), handing the transformation grad_fn."""
  @jax.jit
  def step(p, s, noise):
    grad_fn = lambda q: jax.grad(loss)(q, noise)
    updates, s = tx.update(grad_fn(p), s, p, grad_fn=grad_fn)
    return optax.apply_updates(p, updates), s

  state, p, main = tx.init(params), params, []
  for noise in noises:
    p, state = step(p, state, noise)
    main.append(p)
  return main, state


def plain_run(tx, params, loss, noises):
  @jax.jit
  def step(p, s, noise):
    updates, s = tx.update(jax.grad(loss)(p, noise), s, p)
    return optax.apply_updates(p, updates), s

  state, p = tx.init(params), params
  for noise in noises:
    p, state = step(p, state, noise)
  return p


def close(a, b):
  jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=1e-5, atol=1e-6), a, b)


def test_branch_endpoints_equal_separate_cooldown_runs():
  params, loss = helpers.quadratic_problem()
  noises = np.random.default_rng(5).normal(size=STEPS).astype(np.float32) * 0.3
  inner = nadamw(LR, b1=0.9, b2=0.99, weight_decay=0.1)
  tx = optimizers.cooldown_branches(inner, BRANCHES, LENGTHS, shape='1-sqrt')
  main, state = run_with_branches(tx, params, loss, noises)
  names = [optimizers.branch_name(s, d) for s, d in zip(BRANCHES, LENGTHS)]
  assert sorted(tx.averages(state, None)) == sorted(names)
  close(main[-1], plain_run(inner, params, loss, noises))  # the main run is the plain run

  for start, length, name in zip(BRANCHES, LENGTHS, names):
    end = start + length
    wsd = schedules.wsd(LR, total_steps=end, cooldown_fraction=length / end, shape='1-sqrt')
    expected = plain_run(nadamw(wsd, b1=0.9, b2=0.99, weight_decay=0.1), params, loss,
                         noises[:end])
    got = tx.averages(state, None)[name]
    close(got, expected)
    assert not np.allclose(got['bias'], main[end - 1]['bias'], atol=1e-4)


@pytest.mark.parametrize('cooldown_fraction,shape', [(0.2, '1-sqrt'), (0.1, 'linear')])
def test_wsd_branches_equal_wsd_runs_of_their_own_length(cooldown_fraction, shape):
  """The submission's branch ending at E cools down over cooldown_fraction * E: the endpoint
  of `schedules.wsd(total_steps=E)` with the same warm-up steps, for every branch."""
  params, loss = helpers.quadratic_problem(seed=2)
  workload = types.SimpleNamespace(step_hint=120)
  h = tuning.make_hyperparameters({
      'learning_rate': 0.02, 'one_minus_beta1': 0.1, 'beta2': 0.99, 'weight_decay': 0.1,
      'warmup_factor': 0.05, 'cooldown_fraction': cooldown_fraction, 'cooldown_shape': shape})
  noises = np.random.default_rng(7).normal(size=90).astype(np.float32) * 0.3
  tx = wsd_branches.make_tx(workload, h)
  _, state = run_with_branches(tx, params, loss, noises)
  ended = tx.averages(state, None)
  assert len(ended) == 3
  for fraction in wsd_branches.BRANCH_FRACTIONS:
    end = round(fraction * workload.step_hint)
    length = max(int(round(cooldown_fraction * end)), 1)
    reference = nadamw(schedules.wsd(h.learning_rate, end, cooldown_fraction,
                                     warmup_steps=int(h.warmup_factor * workload.step_hint),
                                     shape=shape),
                       b1=1 - h.one_minus_beta1, b2=h.beta2, weight_decay=h.weight_decay)
    close(ended[optimizers.branch_name(end - length, length)],
          plain_run(reference, params, loss, noises[:end]))


def test_overlapping_windows_are_rejected():
  with pytest.raises(ValueError, match='overlap'):
    optimizers.cooldown_branches(optax.sgd(0.1), (10, 12), 5)
  with pytest.raises(ValueError, match='overlap'):
    optimizers.cooldown_branches(optax.sgd(0.1), (10, 14), (5, 1))
  with pytest.raises(ValueError, match='one cooldown length'):
    optimizers.cooldown_branches(optax.sgd(0.1), (10, 20), (5,))


def test_branches_need_grad_fn():
  tx = optimizers.cooldown_branches(optax.sgd(0.1), (1,), 2)
  params = {'w': jnp.ones(2)}
  with pytest.raises(ValueError, match='grad_fn'):
    tx.update({'w': jnp.ones(2)}, tx.init(params), params)
