"""Batching of datasets held in host memory: exact resume for training, padded eval batches."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping

import jax
import numpy as np


def numpy_seed(rng) -> np.random.SeedSequence:
  """A numpy seed drawn from a JAX key, so host-side shuffles follow the trial's seed."""
  data = jax.random.key_data(rng) if jax.dtypes.issubdtype(rng.dtype, jax.dtypes.prng_key) else rng
  return np.random.SeedSequence(np.asarray(data, dtype=np.uint32).ravel().tolist())


def train_batches(arrays: Mapping[str, np.ndarray], batch_size: int, rng,
                  start_step: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """Shuffled batches forever: each epoch a fresh permutation, batches spanning epochs.

  Batch k depends only on (rng, k), so an iterator started at `start_step` continues
  exactly where an interrupted one stopped.
  """
  n = len(next(iter(arrays.values())))
  seed = numpy_seed(rng)

  @functools.lru_cache(maxsize=batch_size // n + 2)  # every epoch one batch spans
  def permutation(epoch: int) -> np.ndarray:
    child = np.random.SeedSequence(seed.entropy, spawn_key=(epoch,))
    return np.random.default_rng(child).permutation(n)

  for step in itertools.count(start_step):
    pos, parts = step * batch_size, []
    while pos < (step + 1) * batch_size:
      epoch, offset = divmod(pos, n)
      take = min((step + 1) * batch_size - pos, n - offset)
      parts.append(permutation(epoch)[offset:offset + take])
      pos += take
    index = parts[0] if len(parts) == 1 else np.concatenate(parts)
    yield {k: np.take(v, index, axis=0) for k, v in arrays.items()}  # 3x faster than v[index]


def eval_batches(arrays: Mapping[str, np.ndarray],
                 batch_size: int) -> Iterator[dict[str, np.ndarray]]:
  """Each example once, in order; the last batch zero-padded, with 'weights' 0 on padding."""
  n = len(next(iter(arrays.values())))
  for start in range(0, n, batch_size):
    batch = {k: v[start:start + batch_size] for k, v in arrays.items()}
    yield pad_batch(batch, batch_size)


def pad_batch(batch: Mapping[str, np.ndarray], batch_size: int,
              pad_value: float = 0) -> dict[str, np.ndarray]:
  """Pads every array to `batch_size` rows and adds (or extends) a 'weights' mask."""
  n = len(next(iter(batch.values())))
  out = dict(batch)
  if 'weights' not in out:
    out['weights'] = np.ones((n,), np.float32)
  if n == batch_size:
    return out
  return {
      k: np.concatenate([v, np.full((batch_size - n, *v.shape[1:]),
                                    0 if k == 'weights' else pad_value, v.dtype)])
      for k, v in out.items()
  }
