"""What the averaging library promises, for every averager it exports and every transformation
whose output is an average: a state that is stable under jit (same structure, shapes and
dtypes), every leaf its own buffer (so a train step can donate it), evaluated params and
averages shaped like the params, and training that goes on.

Averagers are discovered (every export annotated `-> Averager`, built with its defaults); the
averaging transformations are built here with arguments, and a test fails when an export
annotated `-> AveragedTransformation` has no example below.
"""

import functools
import inspect

import jax
import jax.numpy as jnp
import optax
import pytest

from submissions import averagers, optimizers
from tests.submissions import helpers


def _exports(package, annotation: str) -> dict:
  return {name: getattr(package, name) for name in package.__all__
          if inspect.isfunction(getattr(package, name))
          and inspect.signature(getattr(package, name)).return_annotation == annotation}


AVERAGERS = _exports(averagers, 'Averager')
TRANSFORMATIONS = {
    'with_average': lambda: averagers.with_average(optax.adam(0.05), averagers.ema(0.9)),
    'with_averages': lambda: averagers.with_averages(optax.adam(0.05), {
        'e': averagers.ema(0.9), 'l': averagers.lawa(2, 3), 's': averagers.swa()}),
    'periodic_swa': lambda: optimizers.periodic_swa(optax.sgd(0.05, 0.9), every=2, periods=2),
    'trainable_weight_averaging': lambda: optimizers.trainable_weight_averaging(
        optax.adam(0.05), 3, 2, switch=6),
    'trainable_weight_averaging_conference': lambda: (
        optimizers.trainable_weight_averaging_conference(optax.adam(0.05), 3, 2, switch=6)),
    'schedule_free_adamw': lambda: optimizers.schedule_free_adamw(0.05, warmup_steps=2, r=0.75),
    'cooldown_branches': lambda: optimizers.cooldown_branches(optax.adam(0.05), (2, 6), 3),
}
EXAMPLES = {
    **{f'averager:{n}': functools.partial(
        lambda make: averagers.with_averages(optax.adam(0.05), {'a': make()}), make)
       for n, make in AVERAGERS.items()},
    **TRANSFORMATIONS,
    'twa_quantised': lambda: optimizers.trainable_weight_averaging(optax.adam(0.05), 3, 2,
                                                                   switch=6, bits=8),
    'twa_quantised_per_block': lambda: optimizers.trainable_weight_averaging(
        optax.adam(0.05), 3, 2, switch=6, bits=4, quantization='per_block'),
    'schedule_free_paper': lambda: optimizers.schedule_free_adamw(0.05, 2, variant='paper'),
    'lawa_host_buffer': lambda: averagers.with_average(optax.adam(0.05),
                                                       averagers.lawa(3, 2, host_buffer=True)),
}


def test_every_averaging_transformation_has_an_example():
  exported = {**_exports(averagers, 'AveragedTransformation'),
              **_exports(optimizers, 'AveragedTransformation')}
  assert exported and set(exported) <= set(TRANSFORMATIONS)
  assert {'ema', 'swa', 'lawa'} <= set(AVERAGERS)


def _signature(tree):
  return jax.tree.structure(tree), [(x.shape, x.dtype) for x in jax.tree.leaves(tree)]


@pytest.mark.parametrize('name', sorted(EXAMPLES))
def test_state_is_stable_donatable_and_trains(name):
  params, loss = helpers.quadratic_problem()
  tx = EXAMPLES[name]()
  assert isinstance(tx, averagers.AveragedTransformation)
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
  assert _signature(tx.eval_params(state, p)) == _signature(params)
  for average in tx.averages(state, p).values():
    assert _signature(average) == _signature(params)


@pytest.mark.parametrize('name', sorted(AVERAGERS))
def test_averager_result_is_the_params_before_any_update(name):
  params, _ = helpers.quadratic_problem()
  averager = AVERAGERS[name]()
  assert averager.result(averager.init(params), params) is params
