"""Windowed SWA (Hägele et al. 2024, "Scaling Laws and Compute-Optimal Training Beyond Fixed
Training Durations"): a uniform average that restarts every `window` updates; the eval sees
the last completed window's average. As their `WeightAverager` (epfml/schedules-and-scaling,
src/optim/weight_averaging.py): with c the number of updates before this one, a snapshot is
taken when c is a multiple of `every`, with weight 1 / ((c mod window) // every + 1) (the
window's first snapshot is copied), and the average is kept when (c + 1) is a multiple of
`window` (`get_latest_like` loads the latest completed window).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import Averager, average_or_params, float32_copy
from submissions.averagers._base import maybe_update


class WindowedSwaState(NamedTuple):
  """avg: the running mean of the current window; last: the mean of the last completed
  window; completed: windows completed (0: `last` holds nothing yet)."""

  avg: optax.Params
  last: optax.Params
  completed: jax.Array


def windowed_swa(window: int = 100, every: int = 1) -> Averager:
  """The uniform mean of the snapshots of each window of `window` updates, reset at every
  window; the result is the last completed window's mean.

  Args:
    window: the window (Hägele et al.'s `horizon`), in updates; a multiple of `every`.
    every: the snapshot period (their `interval`).

  Returns:
    An `Averager` whose state is a `WindowedSwaState`; its result is the params until the
    first window completes.

  >>> avg = windowed_swa(window=2)
  >>> s = avg.init({'w': jnp.zeros(())})
  >>> for t, w in enumerate([1.0, 3.0, 10.0], start=1):
  ...   s = avg.update({'w': jnp.array(w)}, s, t)
  >>> float(avg.result(s, {'w': jnp.array(0.0)})['w'])  # window 1: mean of 1 and 3
  2.0
  """
  if every < 1 or window < 1 or window % every:
    raise ValueError(f'window ({window}) must be a positive multiple of every ({every})')

  def init(params):
    return WindowedSwaState(float32_copy(params), float32_copy(params),
                            jnp.zeros([], jnp.int32))

  def update(params, state, t):
    before = jnp.asarray(t, jnp.int32) - 1  # updates before this one (their `count`)

    def snapshot(state):
      k = jnp.mod(before, window) // every  # snapshots already in this window
      avg = jax.tree.map(
          lambda a, p: jnp.where(k == 0, p.astype(jnp.float32),
                                 a + (p.astype(jnp.float32) - a) / (k + 1).astype(jnp.float32)),
          state.avg, params)
      return state._replace(avg=avg)

    state = maybe_update(jnp.mod(before, every) == 0, snapshot, state)
    return maybe_update(jnp.mod(before + 1, window) == 0,
                        lambda s: s._replace(last=s.avg, completed=s.completed + 1), state)

  def result(state, params):
    return average_or_params(state.last, state.completed, params)

  return Averager(init, update, result)
