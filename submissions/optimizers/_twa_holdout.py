"""TWA-v's data (Li et al.: the coefficients trained on held-out data): which training
examples are held out, and batches made of one part alone, so that held-out and training
examples never share a batch (nor, on batch-norm models, its batch statistics). The
journal code trains the coefficients on a separate subset of its own loader
(nblt/TWA, journal/model_soups/train_block_noOrthogonal.py, `Subset(..., idxs)`); with a
stream of training batches and no example ids, the subset here is a hash of each example's
inputs (`holdout_mask`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np


def holdout_mask(inputs: jax.Array, fraction, salt=0) -> jax.Array:
  """Whether each example of a batch belongs to the held-out part of the training data.

  A hash of each example's input bytes, so the same example is held out whenever it is
  drawn, with no example ids: TWA-v trains phase 1 on the rest and X on this part.

  Args:
    inputs: (batch, ...) the batch's inputs.
    fraction: the share of examples held out.
    salt: changes which examples are held out.

  Returns:
    (batch,) bool.

  >>> x = jax.random.normal(jax.random.PRNGKey(0), (10_000, 8))
  >>> round(float(holdout_mask(x, 0.1).mean()), 2)
  0.1
  """
  x = inputs.reshape(inputs.shape[0], -1)
  if x.dtype.itemsize != 4:
    x = x.astype(jnp.float32)
  bits = jax.lax.bitcast_convert_type(x, jnp.uint32)
  mult = (jnp.arange(x.shape[1], dtype=jnp.uint32) * jnp.uint32(2654435761)
          + jnp.uint32(0x9E3779B9) + jnp.uint32(salt)) | jnp.uint32(1)
  h = jnp.sum(bits * mult, axis=1, dtype=jnp.uint32)
  for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):  # murmur3's finaliser
    h = (h ^ (h >> shift)) * jnp.uint32(factor)
  h = h ^ (h >> 16)
  return (h % jnp.uint32(1 << 16)).astype(jnp.float32) < fraction * (1 << 16)


def _valid(batch) -> jax.Array:
  weights = batch.get('weights')
  return jnp.ones(batch['inputs'].shape[0], bool) if weights is None else weights > 0


def _place_like(batch, like):
  """`batch` on the devices and with the shardings of `like` (a batch as the runner placed
  it), so that the train step sees the same placement as for any batch; a key `like` lacks
  (the weights) is split along the batch like its inputs."""
  if not isinstance(like['inputs'], jax.Array):  # host batches: left where jax put them
    return batch

  def sharding(key, x):
    if key in like:
      return like[key].sharding
    inputs = like['inputs'].sharding
    if isinstance(inputs, jax.sharding.NamedSharding):
      return jax.sharding.NamedSharding(inputs.mesh, jax.sharding.PartitionSpec(
          *inputs.spec[:1], *([None] * (x.ndim - 1))))
    return inputs

  return {k: jax.tree.map(lambda x, k=k: jax.device_put(x, sharding(k, x)), v)
          for k, v in batch.items()}


@functools.partial(jax.jit, static_argnums=2)
def _training_rows(batch, fraction, salt):
  """Each held-out row replaced by a training row of the same batch, with weight 0."""
  held_out = holdout_mask(batch['inputs'], fraction, salt) | ~_valid(batch)
  n = held_out.shape[0]
  order = jnp.argsort(held_out, stable=True)  # training rows first
  n_training = jnp.sum(~held_out)
  rank = jnp.cumsum(held_out) - 1  # among held-out rows
  source = jnp.where(held_out, order[jnp.mod(rank, jnp.maximum(n_training, 1))], jnp.arange(n))
  weights = batch.get('weights', jnp.ones(n, jnp.float32))
  out = jax.tree.map(lambda x: jnp.take(x, source, axis=0), batch)
  return {**out, 'weights': jnp.where(held_out, 0.0, weights).astype(weights.dtype)}


def training_rows(batch: dict, fraction: float, salt: int = 0) -> dict:
  """The batch with its held-out examples taken out (TWA-v's phase 1): each held-out row is
  replaced by a copy of one of the batch's training rows with weight 0, so the loss is the
  training examples' (as with masked weights) and batch statistics see training examples
  only (a few of them twice). One batch in, one batch out: a resumed run draws the same
  batches."""
  return _place_like(_training_rows(batch, jnp.float32(fraction), int(salt)), batch)


class HeldOutBatches:
  """Batches of held-out examples only (TWA-v's phase 2), gathered from successive training
  batches: the held-out rows of each batch drawn are kept, the rest dropped, until a batch
  is full; the rows left over start the next one. About 1 / fraction batches are drawn per
  batch made. The rows carried over live here, not in a checkpoint: a run resumed in this
  phase draws other (equally distributed) batches than an uninterrupted one."""

  def __init__(self, fraction: float, salt: int = 0):
    self.fraction, self.salt = fraction, salt
    self._queue, self._carry = None, []

  def next(self, input_queue: Iterator[dict]) -> dict:
    """The next batch of held-out examples, as large as the queue's batches."""
    if input_queue is not self._queue:  # a new trial: nothing carried over
      self._queue, self._carry = input_queue, []
    pieces, size, like = list(self._carry), None, None
    while size is None or sum(p['inputs'].shape[0] for p in pieces) < size:
      like = next(input_queue)
      size = like['inputs'].shape[0]
      mask = holdout_mask(like['inputs'], self.fraction, self.salt) & _valid(like)
      rows = np.flatnonzero(np.asarray(jax.device_get(mask)))
      if rows.size:
        pieces.append(jax.tree.map(lambda x: jnp.take(x, jnp.asarray(rows), axis=0), like))
    rows = jax.tree.map(lambda *xs: jnp.concatenate(xs, axis=0), *pieces)
    batch = jax.tree.map(lambda x: x[:size], rows)
    left = rows['inputs'].shape[0] - size
    self._carry = [jax.tree.map(lambda x: x[size:], rows)] if left else []
    if 'weights' in batch:
      batch['weights'] = jnp.ones_like(batch['weights'])
    return _place_like(batch, like)
