"""Batch-norm statistics for averaged weights.

Averaged weights do not match the running statistics collected along the trajectory. Two
policies, chosen by each submission (and named in its docstring):

* keep: evaluate with the current statistics (the default of `OptaxSubmission`).
* recompute: a pass over training batches with the averaged weights, as SWA does
  (`OptaxSubmission(recompute_batch_stats=N)`, for the evaluated weights and every average).

`recompute_batch_stats` is generic over workloads: it needs only `model_fn`. For a model
state updated as s <- m * s + (1 - m) * stat(batch) (flax's BatchNorm, any momentum), one
forward pass from s = 0 and one from s = 1 give m and stat(batch) exactly, leaf by leaf; the
result is the plain mean of stat(batch) over the batches, PyTorch's `momentum=None`
cumulative average used by SWA's `bn_update`. Leaves a forward pass leaves unchanged keep
their value.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import jax
import jax.numpy as jnp

from avgperf import spec


def recompute_batch_stats(workload: spec.Workload, params, model_state, batches: Iterable,
                          rng=None):
  """The model state's statistics recomputed with `params` as the mean over `batches`.

  Args:
    workload: gives `model_fn`.
    params: the (averaged) weights.
    model_state: the current model state (its structure, and the values kept where a
      forward pass does not update them).
    batches: training batches.
    rng: the key of the forward passes (dropout off: `dropout_rate=0`).

  Returns:
    The new model state.
  """
  if not jax.tree.leaves(model_state):
    return model_state
  rng = jax.random.PRNGKey(0) if rng is None else rng
  stats = _batch_stats_fn(workload)
  total, n = None, 0
  for batch in batches:
    stat, moved = stats(params, model_state, batch, rng)
    total = stat if total is None else jax.tree.map(jnp.add, total, stat)
    n += 1
  if n == 0:
    raise ValueError('recompute_batch_stats needs at least one batch')
  def combine(t, m, s):
    if not jnp.issubdtype(jnp.asarray(s).dtype, jnp.floating):
      return s
    return jnp.where(m, t / n, s).astype(s.dtype)

  return jax.tree.map(combine, total, moved, model_state)


@functools.lru_cache(maxsize=8)
def _batch_stats_fn(workload):
  def forward(params, state, batch, rng):
    # Batch statistics without dropout: eval mode with update_batch_norm (AlgoPerf v0.6).
    _, new_state = workload.model_fn(params, batch, state, spec.ForwardPassMode.EVAL, rng,
                                     update_batch_norm=True)
    return new_state

  @jax.jit
  def stats(params, model_state, batch, rng):
    floating = lambda x: jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)
    zeros = jax.tree.map(lambda s: jnp.zeros_like(s) if floating(s) else s, model_state)
    ones = jax.tree.map(lambda s: jnp.ones_like(s) if floating(s) else s, model_state)
    from_zero, from_one = forward(params, zeros, batch, rng), forward(params, ones, batch, rng)

    def leaf(a, b, s):
      if not floating(s):
        return jnp.zeros_like(s, dtype=jnp.float32), jnp.zeros_like(s, dtype=bool)
      momentum = b - a  # s' = m s + (1 - m) stat  =>  s'(1) - s'(0) = m
      moved = momentum < 1.0 - 1e-6
      return jnp.where(moved, a / jnp.where(moved, 1.0 - momentum, 1.0), 0.0), moved

    pairs = jax.tree.map(leaf, from_zero, from_one, model_state)
    is_pair = lambda x: isinstance(x, tuple) and len(x) == 2
    return (jax.tree.map(lambda p: p[0], pairs, is_leaf=is_pair),
            jax.tree.map(lambda p: p[1], pairs, is_leaf=is_pair))

  return stats
