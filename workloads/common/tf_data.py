"""TensorFlow for the full-size input pipelines: imported lazily, kept off accelerators.

Only the input pipelines of the full-size workloads call `import_tf`, so that listing
workloads and running the small ones never loads TensorFlow.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator

import numpy as np

from workloads.common import batching


@functools.cache
def import_tf():
  """The `tensorflow` module, with every GPU hidden from it (it must not take their memory)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  try:
    tf.config.set_visible_devices([], 'GPU')
  except RuntimeError:  # devices already initialised by someone else: nothing to hide now
    pass
  return tf


def tf_seed(rng) -> np.ndarray:
  """A TF stateless seed (shape [2], int64) drawn from a JAX key or an int."""
  entropy = batching.numpy_seed(rng).generate_state(2)
  return entropy.astype(np.int64)


def int_seed(rng, *path: int) -> int:
  """A Python int seed for `rng` and `path` (for TF ops that take an int seed)."""
  seed = batching.numpy_seed(rng)
  child = np.random.SeedSequence(seed.entropy, spawn_key=tuple(path))
  return int(child.generate_state(1, np.uint32)[0] & 0x7FFFFFFF)


def padded_eval_batches(dataset, batch_size: int, num_batches: int) -> Iterator[dict]:
  """Exactly `num_batches` numpy batches of `dataset` (already batched with `batch_size`).

  The last real batch is zero-padded to `batch_size` with 'weights' 0 on the padding, and if
  the data run out early the rest are all padding (so every process of a multi-host eval
  yields the same number of batches).
  """
  template = None
  for batch in itertools.islice(dataset.as_numpy_iterator(), num_batches):
    batch = batching.pad_batch(batch, batch_size)
    template = batch
    yield batch
    num_batches -= 1
  for _ in range(num_batches):
    if template is None:
      raise ValueError('empty eval split')
    yield {k: np.zeros_like(v) for k, v in template.items()}
