"""What feeds a trial's steps: per-step keys made on the device in blocks, batches placed on
the devices ahead of their use, a marker to wait on a step one step late, and a compilation
cache of the trial's own."""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental.compilation_cache import compilation_cache as jax_compilation_cache

from avgperf import sharding
from avgperf import trial_files

_KEY_BLOCK = 1024  # per-step keys are made on the device this many at a time


class StepKeys:
  """Per-step keys (data selection, update, prepare-for-eval), a function of (seed, step).

  Made on the device in blocks and kept on the host, so that no step waits on a key split.
  """

  def __init__(self, key):
    self._key = key
    self._start = None
    self._block = None
    self._make = jax.jit(lambda k, s: jax.vmap(
        lambda i: jax.random.split(jax.random.fold_in(k, i), 3))(s + jnp.arange(_KEY_BLOCK)))

  def __call__(self, step: int) -> np.ndarray:
    if self._start is None or not 0 <= step - self._start < _KEY_BLOCK:
      self._start = step
      self._block = np.asarray(self._make(self._key, step))
    return self._block[step - self._start]


class DevicePrefetcher:
  """Yields device-placed batches, `size` ahead of their use (flax's prefetch_to_device).

  Each `next()` pulls one host batch and starts its (asynchronous) transfer, so the copy of
  batch k + size overlaps step k. No thread: a Python producer thread contends for the GIL
  with the training loop and cost more per step than it hides (heavy pipelines, such as
  tf.data's, run their work in threads of their own).
  """

  def __init__(self, batches: Iterator[dict], size: int = 2):
    self._batches = iter(batches)
    self._ready = collections.deque()
    self._size = size

  def __iter__(self):
    return self

  def __next__(self) -> dict:
    while len(self._ready) <= self._size:
      try:
        self._ready.append(sharding.place_batch(next(self._batches)))
      except StopIteration:
        break
    if not self._ready:
      raise StopIteration
    return self._ready.popleft()


def completion_marker(outputs) -> jax.Array | None:
  """A tiny array computed from one output leaf of a step: ready once that step has run.

  (The step's own outputs are donated to the next step, so they cannot be waited on later.)
  """
  leaves = [x for x in jax.tree.leaves(outputs) if isinstance(x, jax.Array)]
  return _first_element(leaves[0]) if leaves else None


@jax.jit
def _first_element(x):
  if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
    x = jax.random.key_data(x)
  return x.ravel()[:1]


@contextlib.contextmanager
def compilation_cache(trial_dir: Path):
  """JAX's persistent compilation cache in the trial's folder while the block runs, so that
  a resumed trial loads its compiled steps instead of compiling them again inside timed
  training. Every program is cached, however quickly it compiled. One cache per trial: a
  trial never loads what another compiled, so every trial pays its own compilation once,
  as a trial in a fresh process does."""
  names = ('jax_compilation_cache_dir', 'jax_persistent_cache_min_compile_time_secs')
  before = {name: getattr(jax.config, name) for name in names}
  jax.config.update('jax_compilation_cache_dir',
                    str(Path(trial_dir).absolute() / trial_files.COMPILATION_CACHE))
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
  jax_compilation_cache.reset_cache()
  try:
    yield
  finally:
    for name, value in before.items():
      jax.config.update(name, value)
    jax_compilation_cache.reset_cache()
