"""Data parallelism over all devices: one mesh axis, the batch sharded, params replicated
unless the workload lays some out otherwise (`Workload.param_partition_specs`).

Also offers the helpers that AlgoPerf's JAX submissions call (`get_replicate_sharding`,
`get_batch_dim_sharding`, `shard_along_batch_dim`, `replicate`), so that such a module runs
here with `from avgperf import sharding as jax_sharding_utils`.

Multi-host: start every process with `jax.distributed.initialize()` (on TPU pods and SLURM
clusters it finds its peers by itself); each process then feeds its own
`global_batch_size // jax.process_count()` rows, and `place_batch` assembles the global array.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

BATCH_AXIS = 'batch'


@functools.cache
def get_mesh() -> Mesh:
  return Mesh(np.array(jax.devices()), (BATCH_AXIS,))


def get_replicate_sharding() -> NamedSharding:
  return NamedSharding(get_mesh(), PartitionSpec())


def get_batch_dim_sharding() -> NamedSharding:
  return NamedSharding(get_mesh(), PartitionSpec(BATCH_AXIS))


def replicate(tree):
  """Puts every array of `tree` on all devices."""
  return jax.device_put(tree, get_replicate_sharding())


def place_params(tree, partition_specs=None):
  """Puts the params on the mesh: replicated, or as `partition_specs` says (a pytree of
  PartitionSpec like `tree`, naming BATCH_AXIS for an axis split over all devices)."""
  if partition_specs is None:
    return replicate(tree)
  mesh = get_mesh()
  return jax.tree.map(lambda x, spec: jax.device_put(x, NamedSharding(mesh, spec)), tree,
                      partition_specs)


def replicate_unplaced(tree):
  """Replicates the arrays of `tree` that sit on one device by default (as `optax` creates
  its step counts), leaving arrays placed on purpose (sharded, or in host memory) alone.

  A jitted step returns its outputs on the mesh; inputs left on one device would make its
  second call recompile (for a ResNet, seconds of timed training).
  """
  replicated = get_replicate_sharding()

  def place(x):
    if isinstance(x, np.ndarray) or (
        isinstance(x, jax.Array) and isinstance(x.sharding, jax.sharding.SingleDeviceSharding)
        and x.sharding.memory_kind in (None, 'device')):
      return jax.device_put(x, replicated)
    return x

  return jax.tree.map(place, tree)


def shard_along_batch_dim(tree):
  """Splits every array of `tree` along its first axis over the devices."""
  return jax.device_put(tree, get_batch_dim_sharding())


def per_process_batch_size(global_batch_size: int) -> int:
  """The rows each process feeds; the global batch must split evenly over the devices."""
  if global_batch_size % jax.device_count():
    raise ValueError(f'batch size {global_batch_size} does not split over '
                     f'{jax.device_count()} devices')
  return global_batch_size // jax.process_count()


@functools.cache
def _batch_to_devices(donate: bool):
  # A jitted identity moves host arrays in jit's C++ dispatch path: about 15 us for a small
  # batch, against about 100 us for `jax.device_put` of the same dict (its Python-level
  # tree and sharding handling). Host arrays are donated (their transferred copies become
  # the outputs); device arrays are not, since the caller may still hold them.
  sharding = get_batch_dim_sharding()
  return jax.jit(lambda batch: batch, in_shardings=sharding, out_shardings=sharding,
                 donate_argnums=0 if donate else ())


def place_batch(batch: dict) -> dict:
  """Assembles each process's host rows into global arrays sharded along the batch axis."""
  if jax.process_count() == 1:
    on_host = all(isinstance(v, np.ndarray) for v in batch.values())
    return _batch_to_devices(on_host)(batch)
  sharding = get_batch_dim_sharding()
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
          for k, v in batch.items()}


def place_eval_batch(batch: dict) -> dict:
  """Like `place_batch`, first padding (with weight 0) to a multiple of the local devices."""
  n = len(batch['weights'])
  multiple = jax.local_device_count()
  missing = -n % multiple
  if missing:
    batch = {k: np.concatenate([v, np.zeros((missing, *v.shape[1:]), v.dtype)])
             for k, v in batch.items()}
  return place_batch(batch)
