"""Cooldown branches (the "reusable runs" of Hägele et al. 2024): from a run at constant
learning rate, branch a short cooldown at chosen steps and keep where each branch ends, so
that one run yields the endpoints of several shorter WSD runs.

A branch needs gradients at its own params, which an optax transformation is not handed:
the wrapper calls the `grad_fn` extra argument (params -> gradients of the same batch's
loss, with the same random key) that `OptaxSubmission` passes to every transformation. The
branch's update is the inner optimizer's update on its own copy of the optimizer state,
scaled by the cooldown factor, so its endpoint equals that of a run whose schedule is the
main one times `cooldown_factor` over those steps: for a constant main rate, a WSD run that
ends at the branch's end. Each branch has its own length, so that a branch ending at E
cools down over the same fraction of E as a WSD run of E steps would (`wsd_branches`).
Batch-norm statistics of a branch are not tracked (it is evaluated with the main run's). One
branch runs at a time: windows must not overlap.

Memory: one copy of the params and of the inner state for the running branch, one copy of
the params per branch endpoint. Compute: one more forward and backward pass per step while
a branch runs (timed: the run's time-to-target includes it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers import AveragedTransformation
from submissions.schedules import cooldown_factor


class BranchesState(NamedTuple):
  """inner: the main run's optimizer state; params, inner_branch: the running branch's params
  and optimizer state; ends: branch index -> its final params; count: updates applied;
  starts, cooldown: the branch steps and lengths (so that the state alone names them)."""

  inner: optax.OptState
  params: optax.Params
  inner_branch: optax.OptState
  ends: tuple
  count: jax.Array
  starts: jax.Array
  cooldown: jax.Array


def branch_name(step: int, cooldown_steps: int) -> str:
  """The column prefix of a branch: `cooldown_<start>+<length>`."""
  return f'cooldown_{step}+{cooldown_steps}'


def cooldown_branches(inner: optax.GradientTransformation, branch_steps: Sequence[int],
                      cooldown_steps: int | Sequence[int], shape: str = '1-sqrt',
                      ) -> AveragedTransformation:
  """`inner`, plus a cooldown branch from each of `branch_steps`.

  Branch k starts from the params and optimizer state after update `branch_steps[k]` and
  applies updates branch_steps[k] + 1 .. branch_steps[k] + d_k on the same batches, the
  i-th (from 0) scaled by `cooldown_factor(i / d_k, shape)`, d_k its cooldown length.

  Args:
    inner: the main run's optimizer (at constant rate where branches start).
    branch_steps: the updates after which branches start, increasing, each at least its
      predecessor's cooldown after it.
    cooldown_steps: each branch's length d_k: one for all, or one per branch.
    shape: the cooldown's shape ('linear', '1-sqrt', 'cosine').

  Returns:
    A transformation whose state is a `BranchesState` and whose `averages` are the
    endpoints of the branches that have ended (`branch_endpoints`).
  """
  inner = optax.with_extra_args_support(inner)
  steps = tuple(int(s) for s in branch_steps)
  if isinstance(cooldown_steps, int):
    lengths = (cooldown_steps,) * len(steps)
  else:
    lengths = tuple(int(d) for d in cooldown_steps)
  if len(lengths) != len(steps) or min(lengths, default=1) < 1:
    raise ValueError(f'need one cooldown length >= 1 per branch, got {lengths} for {steps}')
  if any(b - a < d for a, b, d in zip(steps, steps[1:], lengths)):
    raise ValueError('branch windows overlap: each branch must start at least its '
                     f'predecessor\'s cooldown after it (starts {steps}, lengths {lengths})')
  cooldown_factor(0.0, shape)
  starts = jnp.array(steps, jnp.int32)
  durations = jnp.array(lengths, jnp.int32)

  def init(params):
    copy = lambda tree: jax.tree.map(lambda x: jnp.array(x, copy=True), tree)
    inner_state = inner.init(params)
    return BranchesState(inner_state, copy(params), copy(inner_state),
                         tuple(copy(params) for _ in steps), jnp.zeros([], jnp.int32),
                         jnp.array(steps, jnp.int32), jnp.array(lengths, jnp.int32))

  def update(updates, state, params=None, *, grad_fn=None, **extra_args):
    if params is None:
      raise ValueError('cooldown_branches needs the params: call update(grads, state, params)')
    count = optax.safe_increment(state.count)
    # Update number `count` is the (count - s_k)-th of branch k when s_k < count <= s_k + d_k.
    offset = count - starts
    active = (offset >= 1) & (offset <= durations)
    first = active & (offset == 1)

    def branch_step(branch):
      branch_params, branch_state = branch
      if grad_fn is None:
        raise ValueError('cooldown_branches needs the grad_fn extra argument '
                         '(OptaxSubmission passes it)')
      i = jnp.sum(jnp.where(active, offset, 0)) - 1
      length = jnp.sum(jnp.where(active, durations, 0))
      grads = grad_fn(branch_params)
      branch_updates, branch_state = inner.update(grads, branch_state, branch_params,
                                                  **extra_args)
      factor = cooldown_factor(i / length, shape)
      branch_updates = jax.tree.map(lambda u: (factor * u).astype(u.dtype), branch_updates)
      return optax.apply_updates(branch_params, branch_updates), branch_state

    branch = jax.lax.cond(jnp.any(first), lambda b: (params, state.inner), lambda b: b,
                          (state.params, state.inner_branch))
    branch = jax.lax.cond(jnp.any(active), branch_step, lambda b: b, branch)
    ends = tuple(jax.lax.cond(count == s + d, lambda e: branch[0], lambda e: e, end)
                 for s, d, end in zip(steps, lengths, state.ends))

    updates, inner_state = inner.update(updates, state.inner, params, grad_fn=grad_fn,
                                        **extra_args)
    return updates, BranchesState(inner_state, branch[0], branch[1], ends, count, state.starts,
                                  state.cooldown)

  return AveragedTransformation(init, update, averages=branch_endpoints)


def branch_endpoints(state: BranchesState, params: optax.Params) -> dict[str, optax.Params]:
  """name -> final params of each branch that has finished (none before its end).

  Args:
    state: the wrapper's state (read on the host: call outside jit).
    params: unused (the raw params).

  Returns:
    `branch_name(start, length)` -> params, for the branches that have ended.
  """
  del params
  count = int(state.count)
  return {branch_name(int(s), int(d)): end
          for s, d, end in zip(state.starts, state.cooldown, state.ends)
          if count >= int(s) + int(d)}
