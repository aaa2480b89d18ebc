"""Periodic SWA (Guo et al. 2022, "Stochastic Weight Averaging Revisited"): a SWA running
average, and every `periods` periods training restarts from that average with a fresh
optimizer state.

A restart is an update like any other: the wrapper returns `average - params` as the update,
so the usual `optax.apply_updates` lands on the average and the runner needs no hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import AveragedTransformation, average_or_params, cast_like
from submissions.averagers._base import float32_copy, gate, maybe_update
from submissions.averagers._swa import SwaState, swa_update


class PswaState(NamedTuple):
  """inner: the optimizer's state; average: the running SWA of the current cycle;
  count: updates applied; restarts: restarts so far."""

  inner: optax.OptState
  average: SwaState
  count: jax.Array
  restarts: jax.Array


def periodic_swa(inner: optax.GradientTransformation, every: int, periods: int, start: int = 0,
                 reset: Callable[[optax.OptState, optax.OptState], optax.OptState] | None = None,
                 ) -> AveragedTransformation:
  """`inner` with PSWA: snapshots every `every` updates from `start` (one per period), and
  after `periods` snapshots the params jump to their mean and `inner` restarts.

  Snapshots are the updates t = start + j * every >= 1 (j = 0, 1, ...; t counted from 1);
  every `periods`-th snapshot is followed at once by a restart, so with `start=0` restarts
  come at t = k * periods * every.

  Args:
    inner: the optimizer, e.g. SGD with momentum.
    every: the period, in updates (an epoch, say); one snapshot at the end of each.
    periods: P, the periods per restart.
    start: the update (counted from 1) of the first snapshot.
    reset: (fresh state, old state) -> the inner state after a restart. Default: the fresh
      state (`inner.init(average)`). Pass e.g. `lambda fresh, old: (fresh[0], old[1])` to
      reset the momentum but keep a step-driven schedule's count.

  Returns:
    A transformation whose state is a `PswaState` and whose `eval_params` is the running
    average of this cycle (right after a restart, before the first snapshot, the raw
    params, which are the previous cycle's average).

  >>> tx = periodic_swa(optax.sgd(1.0), every=1, periods=2)
  >>> params = {'w': jnp.array(0.0)}
  >>> state = tx.init(params)
  >>> for g in (-2.0, -2.0):  # params 2.0, 4.0 -> restart at their mean
  ...   updates, state = tx.update({'w': jnp.array(g)}, state, params)
  ...   params = optax.apply_updates(params, updates)
  >>> float(params['w']), int(state.restarts)
  (3.0, 1)
  """
  inner = optax.with_extra_args_support(inner)
  if periods < 1:
    raise ValueError(f'periods must be >= 1, got {periods}')

  def init(params):
    return PswaState(inner.init(params), SwaState(float32_copy(params), jnp.zeros([], jnp.int32)),
                     jnp.zeros([], jnp.int32), jnp.zeros([], jnp.int32))

  def update(updates, state, params=None, **extra_args):
    if params is None:
      raise ValueError('periodic_swa needs the params: call update(grads, state, params)')
    updates, inner_state = inner.update(updates, state.inner, params, **extra_args)
    count = optax.safe_increment(state.count)
    new_params = optax.apply_updates(params, updates)
    average = maybe_update(gate(count, start, every), lambda s: swa_update(new_params, s),
                           state.average)
    restart = gate(count, start, every) & (average.count >= periods)

    def do_restart(operand):
      _, inner_state, average = operand
      target = cast_like(average.avg, params)
      fresh = inner.init(target)
      inner_state = fresh if reset is None else reset(fresh, inner_state)
      jump = jax.tree.map(lambda a, p: a - p, target, params)
      return jump, inner_state, SwaState(average.avg, jnp.zeros_like(average.count))

    updates, inner_state, average = jax.lax.cond(
        restart, do_restart, lambda operand: operand, (updates, inner_state, average))
    return updates, PswaState(inner_state, average, count,
                              state.restarts + restart.astype(jnp.int32))

  def eval_params(state, params):
    return average_or_params(state.average.avg, state.average.count, params)

  return AveragedTransformation(init, update, eval_params=eval_params)
