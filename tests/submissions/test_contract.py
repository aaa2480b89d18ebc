"""What every transformation of the averaging library promises: a state that is stable under
jit (same structure, shapes and dtypes), every leaf its own buffer (so a train step can
donate it), averages that match the params' shapes, and updates that leave training as the
inner optimizer's where the method says so."""

import functools

import jax
import jax.numpy as jnp
import optax
import pytest

from submissions import averaging
from tests.submissions import helpers

TRANSFORMS = {
    'ema': lambda: averaging.with_ema(optax.adam(0.05), 0.9),
    'swa': lambda: averaging.with_swa(optax.adam(0.05), start=2, every=2),
    'lawa': lambda: averaging.with_lawa(optax.adam(0.05), 3, 2),
    'lawa_host': lambda: averaging.with_lawa(optax.adam(0.05), 3, 2, host_buffer=True),
    'many': lambda: averaging.with_averages(optax.adam(0.05), {
        'e': averaging.ema(0.9), 'l': averaging.lawa(2, 3), 's': averaging.swa()}),
    'pswa': lambda: averaging.periodic_swa(optax.sgd(0.05, 0.9), every=2, periods=2),
    'twa': lambda: averaging.trainable_weight_averaging(optax.adam(0.05), 3, 2, switch=6),
    'twa_q': lambda: averaging.trainable_weight_averaging(optax.adam(0.05), 3, 2, switch=6,
                                                          bits=8),
    'schedule_free': lambda: averaging.schedule_free_adamw(0.05, warmup_steps=2, r=0.75),
    'branches': lambda: averaging.cooldown_branches(optax.adam(0.05), (2, 6), 3),
}
EVALS = {
    'ema': averaging.ema_params, 'swa': averaging.averaged_params,
    'lawa': averaging.averaged_params, 'lawa_host': averaging.averaged_params,
    'pswa': lambda s, p: s.result(p), 'twa': averaging.twa_params,
    'twa_q': averaging.twa_params, 'schedule_free': averaging.schedule_free_eval_params,
}


def _signature(tree):
  return jax.tree.structure(tree), [(x.shape, x.dtype) for x in jax.tree.leaves(tree)]


@pytest.mark.parametrize('name', sorted(TRANSFORMS))
def test_state_is_stable_donatable_and_trains(name):
  params, loss = helpers.quadratic_problem()
  tx = optax.with_extra_args_support(TRANSFORMS[name]())  # as OptaxSubmission does
  state = tx.init(params)
  leaves = [x for x in jax.tree.leaves(state) if isinstance(x, jax.Array)]
  assert len({id(x) for x in leaves}) == len(leaves), 'a buffer appears twice in the state'

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(p, s):
    grad_fn = jax.grad(loss)
    updates, s = tx.update(grad_fn(p), s, p, grad_fn=grad_fn)
    return optax.apply_updates(p, updates), s

  first = _signature(state)
  start_loss = float(loss(params))
  p = jax.tree.map(jnp.copy, params)
  for _ in range(12):
    p, state = step(p, state)
    assert _signature(state) == first
  assert float(loss(p)) < start_loss
  if name in EVALS:
    evaluated = EVALS[name](state, p)
    assert _signature(evaluated) == _signature(params)
  if name in ('many', 'branches'):
    named = (averaging.named_averages(state, p) if name == 'many'
             else averaging.branch_endpoints(state))
    assert named and all(_signature(v) == _signature(params) for v in named.values())
