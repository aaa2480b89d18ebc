"""Lookups in DLRM's one shared embedding table, replicated or split by rows over devices.

The full table (4,194,304 x 128 float32, 2.1 GB, 6.4 GB with Adam's two moments) is split
along its vocabulary axis over the devices of the runner's mesh, so that each device holds
`vocab / n` rows. A lookup runs where the rows live (`jax.shard_map`):

1. every device receives all the batch's ids (an all-gather of B x 26 int32, small);
2. each device gathers the ids that fall in its own row range, and zeros for the others;
3. a reduce-scatter (`psum_scatter`) sums the n partial results and leaves each device the
   rows of its own slice of the batch, which continues data-parallel.

The backward pass is the transpose: the rows' cotangents are all-gathered, and each device
scatters them into its own rows; the table's gradient never crosses devices.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, PartitionSpec


def take_rows(table: jax.Array, ids: jax.Array) -> jax.Array:
  """`table[ids]`: shape ids.shape + (embed_dim,). The ids are already in range."""
  return jnp.take(table, ids, axis=0, mode='clip')


def num_row_shards(vocab_size: int, num_devices: int) -> int:
  """Over how many devices a table of `vocab_size` rows is split: all of them when they
  divide the rows evenly, else 1 (replicated)."""
  return num_devices if vocab_size % num_devices == 0 else 1


def table_partition_spec(vocab_size: int, mesh: Mesh, axis: str) -> PartitionSpec:
  """The table's PartitionSpec on `mesh`: rows split along `axis`, or replicated."""
  if num_row_shards(vocab_size, mesh.shape[axis]) > 1:
    return PartitionSpec(axis, None)
  return PartitionSpec()


def row_sharded_lookup(mesh: Mesh, axis: str) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """A lookup `(table, ids) -> table[ids]` for a table split by rows along `axis` of `mesh`.

  `ids` has the batch as its first axis; the result is split along the batch like the rest
  of a data-parallel model when the devices divide the batch, else replicated. Exact: each
  id is found on exactly one device, and the others add zeros.
  """
  num_devices = mesh.shape[axis]

  def lookup(table: jax.Array, ids: jax.Array) -> jax.Array:
    if num_row_shards(table.shape[0], num_devices) == 1:
      return take_rows(table, ids)
    rows_per_device = table.shape[0] // num_devices
    scatter = ids.shape[0] % num_devices == 0

    def local(table_rows, all_ids):
      local_ids = all_ids - jax.lax.axis_index(axis) * rows_per_device
      here = (local_ids >= 0) & (local_ids < rows_per_device)
      rows = take_rows(table_rows, jnp.where(here, local_ids, 0))
      rows = jnp.where(here[..., None], rows, jnp.zeros((), rows.dtype))
      if scatter:
        return jax.lax.psum_scatter(rows, axis, scatter_dimension=0, tiled=True)
      return jax.lax.psum(rows, axis)

    return jax.shard_map(local, mesh=mesh,
                         in_specs=(PartitionSpec(axis, None), PartitionSpec()),
                         out_specs=PartitionSpec(axis) if scatter else PartitionSpec())(table, ids)

  return lookup
