"""Exponential moving average of the weights: avg <- beta * avg + (1 - beta) * theta.

Not `optax.ema`, which averages *updates* from zero with a bias correction; this averages
the params themselves and its first update copies them.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import Averager, average_or_params, float32_copy, gate
from submissions.averagers._base import maybe_update

WARMUPS = (None, 'tf', 'power')


class EmaState(NamedTuple):
  """avg: the float32 average; count: the updates it has taken (0: none yet)."""

  avg: optax.Params
  count: jax.Array


def ema_decay(decay: float, n, warmup: str | None = None, power: float = 2 / 3):
  """The decay used by the average's update number n + 1 (n: updates already taken).

  Args:
    decay: beta, the decay after the warm-up.
    n: how many updates the average has already taken.
    warmup: None (always `decay`), 'tf' (min(decay, (1 + n) / (10 + n)), TensorFlow's
      ExponentialMovingAverage) or 'power' (min(decay, 1 - (1 + n) ** -power)).
    power: the exponent of the 'power' warm-up.

  Returns:
    The decay, a float32 scalar.

  >>> [round(float(ema_decay(0.99, n, 'tf')), 3) for n in (0, 10, 10**4)]
  [0.1, 0.55, 0.99]
  """
  n = jnp.asarray(n, jnp.float32)
  if warmup is None:
    return jnp.asarray(decay, jnp.float32)
  if warmup == 'tf':
    return jnp.minimum(decay, (1.0 + n) / (10.0 + n))
  if warmup == 'power':
    return jnp.minimum(decay, 1.0 - (1.0 + n) ** -power)
  raise ValueError(f'unknown EMA warm-up {warmup!r}; use one of {WARMUPS}')


def ema(decay: float = 0.999, start: int = 0, every: int = 1, warmup: str | None = None,
        power: float = 2 / 3) -> Averager:
  """An exponential moving average of the params, taken every `every` updates from `start`.

  Args:
    decay: beta in avg <- beta * avg + (1 - beta) * theta.
    start: the first update (counted from 1) the average may take.
    every: take every this many updates.
    warmup: optional decay warm-up, None, 'tf' or 'power' (see `ema_decay`).
    power: the exponent of the 'power' warm-up.

  Returns:
    An `Averager` whose state is an `EmaState`; its result is the average, or the params
    before its first update.

  >>> avg = ema(0.5)
  >>> s = avg.init({'w': jnp.zeros(())})
  >>> s = avg.update({'w': jnp.array(4.0)}, s, 1)  # the first update copies
  >>> s = avg.update({'w': jnp.array(0.0)}, s, 2)
  >>> float(avg.result(s, {'w': jnp.array(9.0)})['w'])
  2.0
  """
  ema_decay(decay, 0, warmup, power)  # validates the warm-up now rather than under jit

  def init(params):
    return EmaState(float32_copy(params), jnp.zeros([], jnp.int32))

  def update(params, state, t):
    def take(state):
      d = ema_decay(decay, state.count, warmup, power)
      first = state.count == 0
      avg = jax.tree.map(
          lambda a, p: jnp.where(first, p.astype(jnp.float32),
                                 d * a + (1.0 - d) * p.astype(jnp.float32)),
          state.avg, params)
      return EmaState(avg, state.count + 1)

    if start <= 1 and every == 1:
      return take(state)
    return maybe_update(gate(t, start, every), take, state)

  def result(state, params):
    return average_or_params(state.avg, state.count, params)

  return Averager(init, update, result)
