"""Constant, linear, cosine and warmup-then-cosine schedules (step -> value functions)."""

from __future__ import annotations

import jax.numpy as jnp
import optax


def constant(value: float, warmup_steps: int = 0) -> optax.Schedule:
  """`value` at every step, after an optional linear warmup from 0.

  Args:
    value: the constant.
    warmup_steps: steps of linear warmup from 0 (0: none).

  Returns:
    A schedule, step -> value.

  >>> s = constant(0.1, warmup_steps=10)
  >>> [round(float(s(t)), 3) for t in (0, 5, 10, 1000)]
  [0.0, 0.05, 0.1, 0.1]
  """
  if warmup_steps <= 0:
    return optax.constant_schedule(value)
  return optax.join_schedules(
      [optax.linear_schedule(0.0, value, warmup_steps), optax.constant_schedule(value)],
      [warmup_steps])


def linear(peak: float, total_steps: int, warmup_steps: int = 0,
           end_value: float = 0.0) -> optax.Schedule:
  """Linear warmup 0 -> `peak`, then linear decay to `end_value` at `total_steps`.

  Args:
    peak: the value at the end of the warmup.
    total_steps: the step at which the value reaches `end_value` (and stays).
    warmup_steps: steps of linear warmup from 0.
    end_value: the final value.

  Returns:
    A schedule, step -> value.

  >>> s = linear(1.0, total_steps=100, warmup_steps=10)
  >>> [round(float(s(t)), 3) for t in (0, 10, 55, 100, 200)]
  [0.0, 1.0, 0.5, 0.0, 0.0]
  """
  return optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup_steps),
       optax.linear_schedule(peak, end_value, max(total_steps - warmup_steps, 1))],
      [warmup_steps])


def cosine(peak: float, total_steps: int, warmup_steps: int = 0,
           end_value: float = 0.0) -> optax.Schedule:
  """Linear warmup 0 -> `peak`, then half a cosine to `end_value` at `total_steps`.

  Args and returns: as `linear`'s.

  >>> s = cosine(1.0, total_steps=110, warmup_steps=10)
  >>> [round(float(s(t)), 3) for t in (0, 10, 60, 110)]
  [0.0, 1.0, 0.5, 0.0]
  """
  alpha = end_value / peak if peak else 0.0
  return optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup_steps),
       optax.cosine_decay_schedule(peak, max(total_steps - warmup_steps, 1), alpha=alpha)],
      [warmup_steps])


def warmup_cosine(peak: float, warmup_steps: int, total_steps: int) -> optax.Schedule:
  """AlgoPerf's baseline schedule: 0 -> peak linearly over `warmup_steps`, then cosine to 0
  at `total_steps` (the same function the baseline always used).

  Args:
    peak: the value at the end of the warmup.
    warmup_steps: steps of linear warmup.
    total_steps: the step at which the value reaches 0.

  Returns:
    A schedule, step -> value.

  >>> s = warmup_cosine(2.0, 10, 110)
  >>> [round(float(s(t)), 3) for t in (5, 10, 60, 110)]
  [1.0, 2.0, 1.0, 0.0]
  """
  return optax.join_schedules(
      [optax.linear_schedule(0.0, peak, warmup_steps),
       optax.cosine_decay_schedule(peak, max(total_steps - warmup_steps, 1))],
      [warmup_steps])


def as_float(step) -> jnp.ndarray:
  """A step count as float32 (schedules compute in float32 under jit and eagerly alike)."""
  return jnp.asarray(step, jnp.float32)
