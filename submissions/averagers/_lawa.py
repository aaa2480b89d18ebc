"""Latest weight averaging (Kaddour 2022; Ajroldi et al. 2025): the uniform mean of the last
`length` snapshots, taken every `every` updates, kept as a ring buffer.

A snapshot writes one slot of the buffer and reads nothing, so XLA updates the buffer in
place and a step that takes no snapshot costs nothing (a `lax.cond`). The mean is
recomputed from the stored snapshots whenever it is read (at an eval), as Ajroldi et al.'s
`LAWA.avg()` does (Niccolo-Ajroldi/algorithmic-efficiency, submissions/lawa_queue/
lawa_queue.py): its float32 error is that of a sum of `length` terms, whatever the number
of snapshots taken before. (A running sum updated by adding the new snapshot and
subtracting the one it replaces accumulates rounding without bound: 2e-3 after 1e4
snapshots of weights of magnitude 100; see `scripts/measure_lawa_error.py`.)

Memory, in copies of the params (float32): `length` for the buffer. With
`host_buffer=True` the buffer lives in host memory (`pinned_host`): device memory grows by
nothing between evals; each snapshot moves one copy to the host, and reading the mean
moves the slots back one at a time (two copies on the device while it is summed). Inside the
jitted step the move is `jax.device_put(x, jax.memory.Space.Host)`.

In host memory the float32 snapshots are stored bit for bit as uint32: unless `out_shardings`
are given, JAX pairs donated inputs with outputs by shape and dtype, not by memory kind, and a
device output of a slot's shape (a bias of the same width in the model state, say) could
otherwise be handed a host buffer.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import Averager, cast_like, gate, is_concrete, maybe_update
from submissions.averagers._base import select

_HOST = jax.memory.Space.Host
_DEVICE = jax.memory.Space.Device


class LawaState(NamedTuple):
  """buffer: (length, ...) float32 snapshots per leaf (uint32 bits in host memory), slot k
  holding snapshot number k mod length; count: snapshots taken."""

  buffer: optax.Params
  count: jax.Array

  @property
  def length(self) -> int:
    return jax.tree.leaves(self.buffer)[0].shape[0]

  def total(self) -> optax.Params:
    """The sum of the snapshots in the buffer (float32, on the device), added slot by slot
    so that at most one slot besides the sum is on the device at a time."""
    total = _slot(self.buffer, 0)
    for slot in range(1, self.length):
      total = _add_slot(total, self.buffer, slot)
    return total

  def snapshots(self) -> optax.Params:
    """The buffer as it is (slot k holds snapshot number k mod length), on the device."""
    return jax.tree.map(_from_buffer, self.buffer)


def _from_buffer(b):
  """A buffer (or slot) as float32 on the device, whichever memory it lives in."""
  b = jax.device_put(b, _DEVICE)
  return jax.lax.bitcast_convert_type(b, jnp.float32) if b.dtype == jnp.uint32 else b


@jax.jit
def _slot(buffer, slot):
  return jax.tree.map(
      lambda b: _from_buffer(jax.lax.dynamic_index_in_dim(b, slot, keepdims=False)), buffer)


@functools.partial(jax.jit, donate_argnums=0)
def _add_slot(total, buffer, slot):
  return jax.tree.map(jnp.add, total, _slot(buffer, slot))


def lawa(length: int = 10, every: int = 1, start: int = 0, host_buffer: bool = False,
         ) -> Averager:
  """The mean of the last `length` snapshots taken at updates start, start + every, ...

  Args:
    length: L, the number of snapshots averaged.
    every: nu, the snapshot period in updates.
    start: the first update (counted from 1) that may be taken (see `averagers.gate`).
    host_buffer: keep the ring buffer in host memory.

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
    # Made on the params' devices, then moved: sharded like them, in host memory if asked.
    buffer = jax.tree.map(
        lambda p: to_buffer(jnp.zeros_like(p, dtype=jnp.float32, shape=(length, *p.shape))),
        params)
    return LawaState(buffer, jnp.zeros([], jnp.int32))

  def snapshot(params, state):
    slot = jnp.mod(state.count, length)
    buffer = jax.tree.map(
        lambda b, p: jax.lax.dynamic_update_index_in_dim(b, to_buffer(p.astype(jnp.float32)),
                                                         slot, 0),
        state.buffer, params)
    return LawaState(buffer, state.count + 1)

  def update(params, state, t):
    return maybe_update(gate(t, start, every), lambda s: snapshot(params, s), state)

  return Averager(init, update, lawa_result)


def lawa_result(state: LawaState, params: optax.Params) -> optax.Params:
  """The mean of the last `length` snapshots, or `params` until the buffer is full."""
  if is_concrete(state.count) and int(state.count) < state.length:
    return params
  mean = jax.tree.map(lambda s: s / state.length, state.total())
  return select(state.count >= state.length, cast_like(mean, params), params)
