"""Exponential moving average of the weights: avg <- beta * avg + (1 - beta) * theta.

Not `optax.ema`, which averages *updates* from zero with a bias correction; this averages
the params themselves. Two starts, by the warm-up chosen:

* the average's first update copies the params (no warm-up, 'tf', 'power'): Ajroldi et
  al.'s EMA (Niccolo-Ajroldi/algorithmic-efficiency, submissions/lawa_ema/lawa_ema_utils.py,
  `LAWAEma.push`) and Hägele et al.'s `ExponentialWeightAverager` (epfml/schedules-and-scaling,
  src/optim/weight_averaging.py) start this way;
* 'tensorflow': `tf.train.ExponentialMovingAverage(decay, num_updates=global_step)` as
  documented: the average starts from the initial weights (its shadow variables are
  initialised with the variables' initial values) and every update, the first included,
  uses min(decay, (1 + t) / (10 + t)) with t the global step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import Averager, average_or_params, float32_copy, gate
from submissions.averagers._base import maybe_update

WARMUPS = (None, 'tf', 'power', 'tensorflow')


class EmaState(NamedTuple):
  """avg: the float32 average; count: the updates it has taken (0: none yet)."""

  avg: optax.Params
  count: jax.Array


def ema_decay(decay: float, n, warmup: str | None = None, power: float = 2 / 3):
  """The decay of an update of the average.

  Args:
    decay: beta, the decay after the warm-up.
    n: for None, 'tf' and 'power', how many updates the average has already taken; for
      'tensorflow', the global step t (updates of the params applied, this one included).
    warmup: None (always `decay`); 'tf' (min(decay, (1 + n) / (10 + n)): TensorFlow's
      formula over the average's own updates, counted from 0 at its first, which copies);
      'tensorflow' (the same formula over the global step, TensorFlow's definition); or
      'power' (min(decay, 1 - (1 + n) ** -power)).
    power: the exponent of the 'power' warm-up.

  Returns:
    The decay, a float32 scalar.

  >>> [round(float(ema_decay(0.99, n, 'tf')), 3) for n in (0, 10, 10**4)]
  [0.1, 0.55, 0.99]
  >>> round(float(ema_decay(0.99, 1, 'tensorflow')), 3)  # the first update, global step 1
  0.182
  """
  n = jnp.asarray(n, jnp.float32)
  if warmup is None:
    return jnp.asarray(decay, jnp.float32)
  if warmup in ('tf', 'tensorflow'):
    return jnp.minimum(decay, (1.0 + n) / (10.0 + n))
  if warmup == 'power':
    return jnp.minimum(decay, 1.0 - (1.0 + n) ** -power)
  raise ValueError(f'unknown EMA warm-up {warmup!r}; use one of {WARMUPS}')


def ema(decay: float = 0.999, start: int = 0, every: int = 1, warmup: str | None = None,
        power: float = 2 / 3) -> Averager:
  """An exponential moving average of the params, taken every `every` updates from `start`.

  Args:
    decay: beta in avg <- beta * avg + (1 - beta) * theta.
    start: the first update (counted from 1) the average may take (see `averagers.gate`).
    every: take every this many updates.
    warmup: optional decay warm-up, None, 'tf', 'power' or 'tensorflow' (see `ema_decay`;
      with 'tensorflow' the average starts from the params `init` is given).
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
      if warmup == 'tensorflow':
        d, first = ema_decay(decay, t, warmup), False
      else:
        d, first = ema_decay(decay, state.count, warmup, power), state.count == 0
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
