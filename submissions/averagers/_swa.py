"""Stochastic weight averaging (Izmailov et al. 2018): the uniform running mean of the
params taken every `every` updates from `start`."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import Averager, average_or_params, float32_copy, gate
from submissions.averagers._base import maybe_update


class SwaState(NamedTuple):
  """avg: the float32 mean of the `count` snapshots taken so far."""

  avg: optax.Params
  count: jax.Array


def swa_update(params: optax.Params, state: SwaState) -> SwaState:
  """Adds one snapshot to the running mean: avg <- avg + (theta - avg) / (n + 1)."""
  n = state.count.astype(jnp.float32)
  first = state.count == 0  # copied exactly, not a + (p - a)
  avg = jax.tree.map(lambda a, p: jnp.where(first, p.astype(jnp.float32),
                                            a + (p.astype(jnp.float32) - a) / (n + 1.0)),
                     state.avg, params)
  return SwaState(avg, state.count + 1)


def swa(start: int = 0, every: int = 1) -> Averager:
  """The uniform mean of the params at updates start, start + every, start + 2 * every, ...

  Pair it with `schedules.swa_anneal` (constant `swa_lr` from `start`) or with
  `schedules.cyclic(..., cycle_steps=every, start=start)` (the points of lowest rate).

  Args:
    start: the first update (counted from 1) to average; 0 or 1: from the first.
    every: the snapshot period `c`.

  Returns:
    An `Averager` whose state is a `SwaState`; its result is the mean, or the params before
    the first snapshot.

  >>> avg = swa(start=2, every=2)
  >>> s = avg.init({'w': jnp.zeros(())})
  >>> for t, w in enumerate([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], start=1):
  ...   s = avg.update({'w': jnp.array(w)}, s, t)
  >>> float(avg.result(s, {'w': jnp.array(0.0)})['w'])  # mean of t = 2, 4, 6
  4.0
  """

  def init(params):
    return SwaState(float32_copy(params), jnp.zeros([], jnp.int32))

  def update(params, state, t):
    return maybe_update(gate(t, start, every), lambda s: swa_update(params, s), state)

  def result(state, params):
    return average_or_params(state.avg, state.count, params)

  return Averager(init, update, result)
