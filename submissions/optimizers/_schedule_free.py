"""Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled") in its two published
forms, with the (k+1)^r weighting of the average (r = 0: none).

The params are y, the points where gradients are taken. With k counting updates from 0,
s_k = min(1, (k+1) / warmup) and c_{k+1} = w_k / sum_{i<=k} w_i:

  'algoperf' (default): facebookresearch/schedule_free schedulefree/adamw_schedulefree.py
  (`AdamWScheduleFree`), which `optax.contrib.schedule_free_adamw` (r = 0) and the AlgoPerf
  JAX submissions built on it compute: the weights from the scheduled rate alone and the
  bias correction in the denominator.

    lr_k   = lr s_k;  lr_max = max(lr_max, lr_k);  w_k = (k+1)^r lr_max^p
    v      = b2 v + (1 - b2) g^2
    z      = z - lr_k (g / (sqrt(v / (1 - b2^(k+1))) + eps) + wd y)

  'paper': schedulefree/adamw_schedulefree_paper.py (`AdamWScheduleFreePaper`, the version
  of the paper's experiments): the bias correction folded into the rate, hence into lr_max,
  the weights and the weight decay (without warm-up and with b2 near 1, the averaging
  coefficients c_k start 1, 0.667, 0.5, ... against 1, 0.5, 0.333, ... for the default).

    lr_k   = lr s_k sqrt(1 - b2^(k+1));  lr_max, w_k as above
    z      = z - lr_k (g / (sqrt(v) + eps) + wd y)

  Both then: x = (1 - c_{k+1}) x + c_{k+1} z;  y = b1 x + (1 - b1) z.

optax's own `schedule_free_adamw` counts its base optimizer's warm-up from 0 (the first
update has rate 0) and its weights' from 1; here both use s_k as the references do. The
PyTorch AlgoPerf submission (schedulefree/algoperf/external_tuning/schedule_free_adamw/
submission.py) differs from the default in two small ways not offered here: eps inside the
bias-corrected step (eps / sqrt(1 - b2^(k+1))) and weight decay at x instead of y.

x, the average that evaluations should see, is not stored: x = (y - (1 - b1) z) / b1
(`schedule_free_eval_params`). Averaging instead of annealing: no decaying schedule needed.
Batch-norm statistics collected at y do not match x: the reference README recommends a pass
over about 50 training batches at x before an eval (`OptaxSubmission(
recompute_batch_stats=50)`, as `submissions/schedule_free_adamw_bn.py`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import AveragedTransformation, cast_like


class ScheduleFreeAdamWState(NamedTuple):
  """count: updates applied; z: the base iterate (float32); nu: Adam's second moment;
  weight_sum: the sum of averaging weights; lr_max: the largest rate so far."""

  count: jax.Array
  z: optax.Params
  nu: optax.Params
  weight_sum: jax.Array
  lr_max: jax.Array
  b1: jax.Array


def schedule_free_eval_params(state: ScheduleFreeAdamWState, params: optax.Params):
  """x = (y - (1 - b1) z) / b1, the averaged params to evaluate."""
  b1 = state.b1
  return cast_like(jax.tree.map(lambda y, z: (y.astype(jnp.float32) - (1.0 - b1) * z) / b1,
                                params, state.z), params)


VARIANTS = ('algoperf', 'paper')


def schedule_free_adamw(learning_rate: float = 0.0025, warmup_steps: int = 0, b1: float = 0.9,
                        b2: float = 0.999, eps: float = 1e-8, weight_decay: float = 0.0,
                        r: float = 0.0, weight_lr_power: float = 2.0,
                        variant: str = 'algoperf') -> AveragedTransformation:
  """Schedule-Free AdamW with polynomial (k+1)^r weighting of the average.

  Args:
    learning_rate: the peak rate (after the linear warmup).
    warmup_steps: the linear warmup's length.
    b1: the interpolation between the average x and the iterate z (must be > 0).
    b2: Adam's second-moment decay.
    eps: added to the square root of the second moment.
    weight_decay: decoupled weight decay, applied at y and scaled by the rate.
    r: the power of the (t+1)^r weighting (0: optax's weighting).
    weight_lr_power: the power of lr_max in the weights.
    variant: 'algoperf' (facebookresearch's current form, optax's) or 'paper' (see the
      module docstring).

  Returns:
    A transformation whose state is a `ScheduleFreeAdamWState` and whose `eval_params` is
    x, the average.

  >>> tx = schedule_free_adamw(0.1, b1=0.5)
  >>> params = {'w': jnp.array(1.0)}
  >>> state = tx.init(params)
  >>> updates, state = tx.update({'w': jnp.array(2.0)}, state, params)
  >>> params = optax.apply_updates(params, updates)
  >>> round(float(params['w']), 4), round(float(tx.eval_params(state, params)['w']), 4)
  (0.9, 0.9)
  """
  if b1 <= 0:
    raise ValueError('schedule_free_adamw needs b1 > 0')
  if variant not in VARIANTS:
    raise ValueError(f'unknown schedule-free variant {variant!r}; use one of {VARIANTS}')

  def init(params):
    return ScheduleFreeAdamWState(  # every leaf its own buffer, so that all can be donated
        jnp.zeros([], jnp.int32),
        jax.tree.map(lambda p: jnp.array(p, dtype=jnp.float32, copy=True), params),
        jax.tree.map(lambda p: jnp.zeros_like(p, dtype=jnp.float32), params),
        jnp.zeros([], jnp.float32), jnp.zeros([], jnp.float32), jnp.asarray(b1, jnp.float32))

  def update(grads, state, params=None, **extra_args):
    del extra_args
    if params is None:
      raise ValueError('schedule_free_adamw needs the params: call update(grads, state, params)')
    k = state.count.astype(jnp.float32)
    warm = jnp.minimum(1.0, (k + 1.0) / warmup_steps) if warmup_steps > 0 else 1.0
    bias_correction = 1.0 - b2 ** (k + 1.0)
    lr = learning_rate * warm
    if variant == 'paper':
      lr = lr * jnp.sqrt(bias_correction)
    lr_max = jnp.maximum(state.lr_max, lr)
    weight = (k + 1.0) ** r * lr_max ** weight_lr_power
    weight_sum = state.weight_sum + weight
    ck = jnp.where(weight_sum > 0, weight / weight_sum, 0.0)

    y = jax.tree.map(lambda p: p.astype(jnp.float32), params)
    g = jax.tree.map(lambda x: x.astype(jnp.float32), grads)
    nu = jax.tree.map(lambda v, gi: b2 * v + (1.0 - b2) * gi * gi, state.nu, g)
    if variant == 'paper':
      denominator = lambda v: jnp.sqrt(v) + eps
    else:
      denominator = lambda v: jnp.sqrt(v / bias_correction) + eps
    z = jax.tree.map(
        lambda zi, gi, v, yi: zi - lr * (gi / denominator(v) + weight_decay * yi),
        state.z, g, nu, y)
    x_prev = jax.tree.map(lambda yi, zi: (yi - (1.0 - b1) * zi) / b1, y, state.z)
    x = jax.tree.map(lambda xi, zi: (1.0 - ck) * xi + ck * zi, x_prev, z)
    new_y = jax.tree.map(lambda xi, zi: b1 * xi + (1.0 - b1) * zi, x, z)
    updates = jax.tree.map(lambda n, p: (n - p.astype(jnp.float32)).astype(p.dtype), new_y, params)
    return updates, ScheduleFreeAdamWState(state.count + 1, z, nu, weight_sum, lr_max, state.b1)

  return AveragedTransformation(init, update, eval_params=schedule_free_eval_params)
