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
  """The uniform mean of the params after the updates t >= start with (t - start) a
  multiple of `every` (t counted from 1; see `averagers.gate`).

  Pair it with `schedules.swa_anneal` (constant `swa_lr` from `start`) or with the cyclical
  schedule: `schedules.cyclic(..., cycle_steps=c, start=s)` reaches its lowest rate at the
  updates t = s + c, s + 2c, ..., which `swa(start=s + c, every=c)` takes (with
  `start=s`, s > 0, it would also take update s, before the first cycle).

  Args:
    start: the first update (counted from 1) that may be averaged. With start 0 (the
      default) the snapshots are t = every, 2 every, ...: the first is update `every`, not
      update 1, when every > 1; start 1 takes t = 1, 1 + every, ...
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
