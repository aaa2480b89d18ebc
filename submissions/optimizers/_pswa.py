"""Periodic SWA (Guo, Jin and Liu 2023, "Stochastic Weight Averaging Revisited"): a SWA
running average, and every `periods` snapshots training restarts from that average with a
fresh optimizer state; after `final_swa_start` no more restarts, and the average goes on as
plain SWA. As their code (ZJLAB-AMMI/PSWA, pswa.py): snapshots once per period (an epoch
there, `swa_c_epochs=1`), `model = deepcopy(swa_model)` and a fresh SGD every P of them up
to `swa_start`, then SWA to the end, with the SWA learning-rate schedule (`schedules.
swa_anneal`) throughout, which decays within the periodic phase.

A restart is an update like any other: the wrapper returns `average - params` as the update,
so the usual `optax.apply_updates` lands on the average and the runner needs no hook. What
an eval sees is their `swa_model`: the running average of the current cycle, and between a
restart and the next snapshot the average just completed (the restart point), never the raw
weights once averaging has begun. The batch-norm statistics copied with `swa_model` at a
restart are the submission's business (`sgd_pswa`): a transformation does not hold them.
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
  """inner: the optimizer's state; average: the running SWA of the current cycle (right
  after a restart, count 0 and avg the average just completed); count: updates applied;
  restarts: restarts so far."""

  inner: optax.OptState
  average: SwaState
  count: jax.Array
  restarts: jax.Array


def is_restart(t: int, every: int, periods: int, start: int = 0,
               final_swa_start: int | None = None) -> bool:
  """Whether update t (counted from 1) ends with a restart: it is the `periods`-th, 2
  `periods`-th, ... snapshot and comes no later than `final_swa_start`. On the host, without
  reading the state (what `periodic_swa` does on the device).

  >>> [t for t in range(1, 30) if is_restart(t, every=3, periods=2, start=4)]
  [7, 13, 19, 25]
  >>> [t for t in range(1, 30) if is_restart(t, 3, 2, 4, final_swa_start=15)]
  [7, 13]
  """
  if not bool(gate(t, start, every)):
    return False
  first = start if start >= 1 else start + -(-(1 - start) // every) * every
  snapshot = (t - first) // every + 1  # 1 for the first snapshot
  return snapshot % periods == 0 and (final_swa_start is None or t <= final_swa_start)


def periodic_swa(inner: optax.GradientTransformation, every: int, periods: int, start: int = 0,
                 reset: Callable[[optax.OptState, optax.OptState], optax.OptState] | None = None,
                 final_swa_start: int | None = None) -> AveragedTransformation:
  """`inner` with PSWA: snapshots every `every` updates from `start` (one per period), and
  after `periods` snapshots the params jump to their mean and `inner` restarts.

  Snapshots are the updates t >= start with (t - start) a multiple of `every` (t counted
  from 1; `averagers.gate`); every `periods`-th snapshot up to `final_swa_start` is followed
  at once by a restart (`is_restart`), so with `start=0` restarts come at
  t = k * periods * every.

  Args:
    inner: the optimizer, e.g. SGD with momentum.
    every: the period, in updates (an epoch, say); one snapshot at the end of each.
    periods: P, the periods per restart.
    start: the update (counted from 1) of the first snapshot.
    reset: (fresh state, old state) -> the inner state after a restart. Default: the fresh
      state (`inner.init(average)`). Pass e.g. `lambda fresh, old: (fresh[0], old[1])` to
      reset the momentum but keep a step-driven schedule's count.
    final_swa_start: the last update that may restart; after it the average continues as
      plain SWA to the end (None: restarts throughout).

  Returns:
    A transformation whose state is a `PswaState` and whose `eval_params` is the running
    average of this cycle, or the last completed one between a restart and the next
    snapshot (the raw params before the first snapshot).

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
  last_restart = jnp.iinfo(jnp.int32).max if final_swa_start is None else final_swa_start

  def init(params):
    return PswaState(inner.init(params), SwaState(float32_copy(params), jnp.zeros([], jnp.int32)),
                     jnp.zeros([], jnp.int32), jnp.zeros([], jnp.int32))

  def update(updates, state, params=None, **extra_args):
    if params is None:
      raise ValueError('periodic_swa needs the params: call update(grads, state, params)')
    updates, inner_state = inner.update(updates, state.inner, params, **extra_args)
    count = optax.safe_increment(state.count)
    new_params = optax.apply_updates(params, updates)
    snapshot = gate(count, start, every)
    average = maybe_update(snapshot, lambda s: swa_update(new_params, s), state.average)
    restart = snapshot & (average.count >= periods) & (count <= last_restart)

    def do_restart(operand):
      _, inner_state, average = operand
      target = cast_like(average.avg, params)
      fresh = inner.init(target)
      inner_state = fresh if reset is None else reset(fresh, inner_state)
      jump = jax.tree.map(lambda a, p: a - p, target, params)
      # The completed average stays in `avg` (evaluated) until the next snapshot replaces it.
      return jump, inner_state, SwaState(average.avg, jnp.zeros_like(average.count))

    updates, inner_state, average = jax.lax.cond(
        restart, do_restart, lambda operand: operand, (updates, inner_state, average))
    return updates, PswaState(inner_state, average, count,
                              state.restarts + restart.astype(jnp.int32))

  def eval_params(state, params):
    return average_or_params(state.average.avg, state.average.count + state.restarts, params)

  return AveragedTransformation(init, update, eval_params=eval_params)
