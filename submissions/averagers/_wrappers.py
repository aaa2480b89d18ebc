"""Wrappers that add averages to any optax transformation, outside its own state.

`with_average(inner, averager)`: the submission's weights are the average (its eval, and its
scored columns, see the average; training continues from the raw weights).
`with_averages(inner, {name: averager, ...})`: the raw weights stay the submission's, and each
named average is evaluated beside them under its own column prefix, all from one run (EMA
beta in {0.9, 0.99, 0.999} and LAWA L in {5, 20}, say).

Each average is updated with the params *after* the inner update: the wrapper computes
`params + updates` itself (an optax transformation is handed the params from before its
update). Updates pass through unchanged, so the raw trajectory is exactly the inner one's.
Both return an `AveragedTransformation`, which `OptaxSubmission` reads: nothing else to wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import AveragedTransformation, Averager, no_averages
from submissions.averagers._base import raw_params


class WithAverageState(NamedTuple):
  """inner: the wrapped transformation's state; average: the averager's; count: updates."""

  inner: optax.OptState
  average: Any
  count: jax.Array


class WithAveragesState(NamedTuple):
  """inner: the wrapped transformation's state; averages: name -> averager state."""

  inner: optax.OptState
  averages: dict[str, Any]
  count: jax.Array


def _split(inner: optax.GradientTransformation) -> tuple:
  """(inner with extra-args support, its eval_params, its averages): the raw params and no
  averages unless `inner` says what an eval sees itself."""
  if isinstance(inner, AveragedTransformation):
    return inner, inner.eval_params, inner.averages
  return optax.with_extra_args_support(inner), raw_params, no_averages


def _require_params(params):
  if params is None:
    raise ValueError('averaging wrappers need the params: call update(grads, state, params)')


def with_average(inner: optax.GradientTransformation,
                 averager: Averager) -> AveragedTransformation:
  """`inner`, whose evaluated weights are an average of the params it produces.

  Args:
    inner: the optimizer whose trajectory is averaged.
    averager: e.g. `ema(0.999)`, `swa(start, every)`, `lawa(20, 64)`.

  Returns:
    A transformation whose state is a `WithAverageState` and whose `eval_params` is the
    average (the params while it has none).

  >>> from submissions.averagers import ema, swa
  >>> tx = with_average(optax.sgd(1.0), ema(0.5))
  >>> params = {'w': jnp.array(0.0)}
  >>> state = tx.init(params)
  >>> for g in (-4.0, 4.0):  # params: 4.0, then 0.0
  ...   updates, state = tx.update({'w': jnp.array(g)}, state, params)
  ...   params = optax.apply_updates(params, updates)
  >>> float(tx.eval_params(state, params)['w'])
  2.0
  """
  inner, _, inner_averages = _split(inner)

  def init(params):
    return WithAverageState(inner.init(params), averager.init(params), jnp.zeros([], jnp.int32))

  def update(updates, state, params=None, **extra_args):
    _require_params(params)
    updates, inner_state = inner.update(updates, state.inner, params, **extra_args)
    count = optax.safe_increment(state.count)
    average = averager.update(optax.apply_updates(params, updates), state.average, count)
    return updates, WithAverageState(inner_state, average, count)

  return AveragedTransformation(
      init, update, eval_params=lambda state, params: averager.result(state.average, params),
      averages=lambda state, params: inner_averages(state.inner, params))


def with_averages(inner: optax.GradientTransformation,
                  averagers: Mapping[str, Averager]) -> AveragedTransformation:
  """`inner`, plus several named averages of the params it produces, all from one run.

  Args:
    inner: the optimizer whose trajectory is averaged.
    averagers: name -> averager; names become eval column prefixes (`validation/<name>/...`).

  Returns:
    A transformation whose state is a `WithAveragesState`, whose `eval_params` are the raw
    params (or what `inner` says) and whose `averages` are the named averages.

  >>> from submissions.averagers import ema, swa
  >>> tx = with_averages(optax.sgd(1.0), {'ema_0.5': ema(0.5), 'swa': swa()})
  >>> params = {'w': jnp.array(0.0)}
  >>> state = tx.init(params)
  >>> for g in (-4.0, 4.0):
  ...   updates, state = tx.update({'w': jnp.array(g)}, state, params)
  ...   params = optax.apply_updates(params, updates)
  >>> {k: float(v['w']) for k, v in tx.averages(state, params).items()}
  {'ema_0.5': 2.0, 'swa': 2.0}
  """
  inner, inner_eval_params, inner_averages = _split(inner)
  averagers = dict(averagers)

  def init(params):
    return WithAveragesState(inner.init(params),
                             {k: a.init(params) for k, a in averagers.items()},
                             jnp.zeros([], jnp.int32))

  def update(updates, state, params=None, **extra_args):
    _require_params(params)
    updates, inner_state = inner.update(updates, state.inner, params, **extra_args)
    count = optax.safe_increment(state.count)
    new_params = optax.apply_updates(params, updates)
    averages = {k: a.update(new_params, state.averages[k], count) for k, a in averagers.items()}
    return updates, WithAveragesState(inner_state, averages, count)

  def averages(state, params):
    own = {k: a.result(state.averages[k], params) for k, a in averagers.items()}
    return {**inner_averages(state.inner, params), **own}

  return AveragedTransformation(
      init, update, eval_params=lambda state, params: inner_eval_params(state.inner, params),
      averages=averages)
