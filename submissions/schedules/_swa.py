"""The learning-rate schedules of SWA (Izmailov et al. 2018, "Averaging Weights Leads to
Wider Optima and Better Generalization"): annealing to a constant `swa_lr`, and the
cyclical schedule."""

from __future__ import annotations

import jax.numpy as jnp
import optax

from submissions.schedules._basic import as_float


def swa_anneal(base_lr: float, swa_lr: float, swa_start: int,
               warmup_steps: int = 0) -> optax.Schedule:
  """SWA's schedule: `base_lr` until 0.5 * swa_start, linear to `swa_lr` at 0.9 * swa_start,
  then constant `swa_lr` (through the averaging phase), as in the paper's code.

  Args:
    base_lr: the initial learning rate (after an optional linear warmup).
    swa_lr: the constant learning rate of the averaging phase.
    swa_start: the step at which averaging starts.
    warmup_steps: steps of linear warmup from 0.

  Returns:
    A schedule, step -> value.

  >>> s = swa_anneal(1.0, 0.2, swa_start=100)
  >>> [round(float(s(t)), 3) for t in (0, 50, 70, 90, 500)]
  [1.0, 1.0, 0.6, 0.2, 0.2]
  """

  def schedule(step):
    t = as_float(step) / swa_start
    ratio = swa_lr / base_lr
    factor = jnp.where(t <= 0.5, 1.0,
                       jnp.where(t <= 0.9, 1.0 - (1.0 - ratio) * (t - 0.5) / 0.4, ratio))
    value = base_lr * factor
    if warmup_steps <= 0:
      return value
    s = as_float(step)
    return jnp.where(s < warmup_steps, base_lr * s / warmup_steps, value)

  return schedule


def cyclic(max_lr: float, min_lr: float, cycle_steps: int, start: int = 0) -> optax.Schedule:
  """SWA's cyclical schedule: within each cycle of `cycle_steps`, linear from near `max_lr`
  down to `min_lr`; constant `max_lr` before `start`.

  With i = step - start, alpha(i) = (1 - t) * max_lr + t * min_lr, t = (i mod c + 1) / c, so
  the last update of each cycle (optax's step start + k*c - 1, counting from 0; update number
  start + k*c counting from 1, k >= 1) uses `min_lr`. SWA averages the weights after those
  updates: `averagers.swa(start=start + cycle_steps, every=cycle_steps)`.

  Args:
    max_lr: alpha_1, the value at the start of each cycle.
    min_lr: alpha_2, the value at the end of each cycle.
    cycle_steps: c, the length of a cycle.
    start: the first step of the first cycle.

  Returns:
    A schedule, step -> value.

  >>> s = cyclic(1.0, 0.0, cycle_steps=4)
  >>> [round(float(s(t)), 3) for t in range(6)]
  [0.75, 0.5, 0.25, 0.0, 0.75, 0.5]
  """

  def schedule(step):
    i = jnp.asarray(step, jnp.int32) - start
    t = (jnp.mod(i, cycle_steps) + 1).astype(jnp.float32) / cycle_steps
    return jnp.where(i < 0, max_lr, (1.0 - t) * max_lr + t * min_lr)

  return schedule
