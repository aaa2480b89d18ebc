"""The averager protocol, the transformation that says what an eval sees, and shared pieces.

An averager is three pure functions over param pytrees, in optax's shape:

    avg = ema(0.999)
    state = avg.init(params)                  # float32 copies, placed (sharded) like params
    state = avg.update(new_params, state, t)  # t: 1-based index of the update just applied
    eval_params = avg.result(state, params)   # the average, or `params` while there is none

Averagers see the params *after* an update. The wrappers (`with_average`, `with_averages`)
compute `params + updates` themselves, since an optax transformation is handed the params
from before its update, and return an `AveragedTransformation`: an optax transformation
that also says which params an eval sees. `OptaxSubmission` reads that, so an average
attached by a wrapper is evaluated and logged with no further wiring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import optax

AveragerState = Any  # a pytree of arrays (usually a NamedTuple)


class InitFn(Protocol):
  def __call__(self, params: optax.Params) -> AveragerState:
    """The state before any update."""


class UpdateFn(Protocol):
  def __call__(self, params: optax.Params, state: AveragerState, t: jax.Array) -> AveragerState:
    """The state after update `t` (>= 1, this one included) produced `params`. Jittable."""


class ResultFn(Protocol):
  def __call__(self, state: AveragerState, params: optax.Params) -> optax.Params:
    """The params an eval of the average sees, in `params`' dtypes; `params` while the
    average has none yet (LAWA until its buffer is full)."""


class Averager(NamedTuple):
  """An averaging rule: `init`, `update` and `result` (see the module docstring)."""

  init: InitFn
  update: UpdateFn
  result: ResultFn


EvalParamsFn = Callable[[optax.OptState, optax.Params], optax.Params]
AveragesFn = Callable[[optax.OptState, optax.Params], Mapping[str, optax.Params]]


def raw_params(state: optax.OptState, params: optax.Params) -> optax.Params:
  del state
  return params


def no_averages(state: optax.OptState, params: optax.Params) -> dict[str, optax.Params]:
  del state, params
  return {}


class AveragedTransformation(NamedTuple):
  """An optax transformation (it has `init` and `update`, and takes extra arguments) that
  also says what an eval sees.

  Attributes:
    init, update: as `optax.GradientTransformationExtraArgs`.
    eval_params: (state, params) -> the params the submission's own eval sees, its scored
      columns: the raw params, or an average.
    averages: (state, params) -> name -> params of further averages, each evaluated and
      logged under its own column prefix (`validation/<name>/<metric>`).
  """

  init: optax.TransformInitFn
  update: optax.TransformUpdateExtraArgsFn
  eval_params: EvalParamsFn = raw_params
  averages: AveragesFn = no_averages


def gate(t, start: int, every: int) -> jax.Array:
  """True at the updates an averager takes: t >= start and (t - start) % every == 0.

  >>> [int(gate(t, start=4, every=3)) for t in range(1, 11)]
  [0, 0, 0, 1, 0, 0, 1, 0, 0, 1]
  """
  if every < 1:
    raise ValueError(f'every must be >= 1, got {every}')
  t = jnp.asarray(t, jnp.int32)
  return (t >= start) & (jnp.mod(t - start, every) == 0)


def float32_copy(params: optax.Params) -> optax.Params:
  """A float32 copy of the params, placed (sharded) like them."""
  return jax.tree.map(lambda p: jnp.array(p, dtype=jnp.float32, copy=True), params)


def cast_like(tree: optax.Params, like: optax.Params) -> optax.Params:
  """`tree` with the dtypes of `like` (averages are float32; params may be bfloat16)."""
  return jax.tree.map(lambda a, p: a.astype(p.dtype), tree, like)


def is_concrete(x) -> bool:
  """Whether `x` has a value now (outside jit), so Python may branch on it."""
  return not isinstance(x, jax.core.Tracer)


def select(condition, on_true: optax.Params, on_false: optax.Params) -> optax.Params:
  """`on_true` where `condition` holds, else `on_false`; without a copy when outside jit."""
  if is_concrete(condition):
    return on_true if bool(condition) else on_false
  return jax.tree.map(lambda a, b: jnp.where(condition, a, b), on_true, on_false)


def average_or_params(average: optax.Params, count: jax.Array,
                      params: optax.Params) -> optax.Params:
  """The float32 `average` in the params' dtypes once it has `count > 0` updates, else the
  params: the `result` of every averager that keeps one running average."""
  return select(count > 0, cast_like(average, params), params)


def maybe_update(take, fn: Callable[[Any], Any], state):
  """`fn(state)` when `take`, else `state`; a `lax.cond` so untaken steps cost nothing."""
  return jax.lax.cond(take, fn, lambda s: s, state)
