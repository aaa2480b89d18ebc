"""Latest weight averaging (Kaddour 2022; Ajroldi et al. 2025): the uniform mean of the last
`length` snapshots, taken every `every` updates, kept as a ring buffer plus a running sum.

The running sum is kept as `pending` = sum - (the slot due to be overwritten next), read
right after each write. A snapshot is then `sum = pending + x; write x; pending = sum - next
slot`, which never reads the slot it writes, so XLA updates the buffer in place and a step
that takes no snapshot costs nothing (a `lax.cond`); the mean is `(pending + next slot) / L`.

Memory, in copies of the params (float32): `length` for the buffer and 1 for `pending`. With
`host_buffer=True` the buffer lives in host memory (`pinned_host`): device memory grows by
`pending` alone, one copy, and each snapshot moves one copy to the host and one slot back.
Inside the jitted step this is `jax.device_put(x, jax.memory.Space.Host)`.

In host memory the float32 snapshots are stored bit for bit as uint32: unless `out_shardings`
are given, JAX pairs donated inputs with outputs by shape and dtype, not by memory kind, and a
device output of a slot's shape (a bias of the same width in the model state, say) could
otherwise be handed a host buffer.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import Averager, cast_like, gate, is_concrete, maybe_update
from submissions.averagers._base import select

_HOST = jax.memory.Space.Host
_DEVICE = jax.memory.Space.Device


class LawaState(NamedTuple):
  """buffer: (length, ...) float32 snapshots per leaf (uint32 bits in host memory); pending:
  their sum minus the slot the next snapshot replaces (zeros until the buffer wraps); count:
  snapshots taken."""

  buffer: optax.Params
  pending: optax.Params
  count: jax.Array

  @property
  def length(self) -> int:
    return jax.tree.leaves(self.buffer)[0].shape[0]

  def total(self) -> optax.Params:
    """The sum of the snapshots in the buffer (float32, on the device)."""
    return _total(self.buffer, self.pending, self.count)

  def snapshots(self) -> optax.Params:
    """The buffer as it is (slot k holds snapshot number k mod length), on the device."""
    return jax.tree.map(_from_buffer, self.buffer)


def _from_buffer(b):
  """A buffer (or slot) as float32 on the device, whichever memory it lives in."""
  b = jax.device_put(b, _DEVICE)
  return jax.lax.bitcast_convert_type(b, jnp.float32) if b.dtype == jnp.uint32 else b


@jax.jit
def _total(buffer, pending, count):
  def leaf(b, p):
    length = b.shape[0]
    return p + _from_buffer(jax.lax.dynamic_index_in_dim(b, jnp.mod(count, length),
                                                         keepdims=False))

  return jax.tree.map(leaf, buffer, pending)


def lawa(length: int = 10, every: int = 1, start: int = 0, host_buffer: bool = False,
         ) -> Averager:
  """The mean of the last `length` snapshots taken at updates start, start + every, ...

  Args:
    length: L, the number of snapshots averaged.
    every: nu, the snapshot period in updates.
    start: the first update (counted from 1) that may be taken.
    host_buffer: keep the ring buffer in host memory; device memory then grows by one copy.

  Returns:
    An `Averager` whose state is a `LawaState`.

  >>> avg = lawa(length=2, every=1)
  >>> s = avg.init({'w': jnp.zeros(())})
  >>> for t, w in enumerate([1.0, 2.0, 6.0], start=1):
  ...   s = avg.update({'w': jnp.array(w)}, s, t)
  >>> float(avg.result(s, {'w': jnp.array(0.0)})['w'])  # mean of the last two
  4.0
  """
  if length < 1:
    raise ValueError(f'length must be >= 1, got {length}')
  if host_buffer:
    to_buffer = lambda x: jax.device_put(jax.lax.bitcast_convert_type(x, jnp.uint32), _HOST)
  else:
    to_buffer = lambda x: x

  def init(params):
    def zeros(p, shape):
      # Made on the params' devices, then moved: sharded like them, in host memory if asked.
      return jnp.zeros_like(p, dtype=jnp.float32, shape=shape)

    buffer = jax.tree.map(lambda p: to_buffer(zeros(p, (length, *p.shape))), params)
    pending = jax.tree.map(lambda p: zeros(p, p.shape), params)
    return LawaState(buffer, pending, jnp.zeros([], jnp.int32))

  def snapshot(params, state):
    slot = jnp.mod(state.count, length)
    new = jax.tree.map(lambda p: p.astype(jnp.float32), params)
    total = jax.tree.map(jnp.add, state.pending, new)
    buffer = jax.tree.map(
        lambda b, x: jax.lax.dynamic_update_index_in_dim(b, to_buffer(x), slot, 0),
        state.buffer, new)
    pending = jax.tree.map(
        lambda t, b: t - _from_buffer(jax.lax.dynamic_index_in_dim(
            b, jnp.mod(slot + 1, length), keepdims=False)), total, buffer)
    return LawaState(buffer, pending, state.count + 1)

  def update(params, state, t):
    return maybe_update(gate(t, start, every), lambda s: snapshot(params, s), state)

  return Averager(init, update, lawa_result)


def lawa_result(state: LawaState, params: optax.Params) -> optax.Params:
  """The mean of the last `length` snapshots, or `params` until the buffer is full."""
  if is_concrete(state.count) and int(state.count) < state.length:
    return params
  mean = jax.tree.map(lambda s: s / state.length, state.total())
  return select(state.count >= state.length, cast_like(mean, params), params)
