"""Graphs in host memory, packed into padded batches under node, edge and graph budgets.

This is the batching of `jraph.dynamically_batch` (spec §6.3), written over flat numpy
arrays: graphs are taken in stream order while they fit, and each batch is padded to its
budgets with one padding graph holding every padding node and edge, then empty graphs. A
batch of the workloads is `num_shards` such batches stacked on a leading axis (one per local
device), so that sharding that axis keeps every graph on one device.

Batch layout (`S` shards, budgets `N` nodes, `E` edges, `G` graphs per shard):
  node_features (S, N, F_node) float32, edge_features (S, E, F_edge) float32,
  senders, receivers (S, E) int32: node indices within the shard,
  n_node, n_edge (S, G) int32: per graph, as `jraph.GraphsTuple` (they sum to N and E),
  targets (S, G, T) float32: labels with missing ones set to 0,
  weights (S, G, T) float32: 1 where a label is present on a real graph, else 0.

jraph 0.0.6.dev0 still imports and runs with current JAX, but its batching walks graphs one by
one in Python and cannot resume. Here a batch's graphs are found from cumulative sums of the
sizes of the next graphs, so a resumed trial replays the packing of every earlier batch from
sizes alone (15 s for molpcba's 52,000 steps on a busy 2-core machine).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Iterator

import numpy as np

from workloads.common import batching


@dataclasses.dataclass(frozen=True)
class Budget:
  """Padded sizes of one shard: at most `graphs - 1` real graphs, `nodes - 1` real nodes
  (one node is kept for the padding graph) and `edges` real edges."""

  nodes: int
  edges: int
  graphs: int

  @classmethod
  def for_batch(cls, graphs_per_shard: int, avg_nodes: int, avg_edges: int) -> Budget:
    """AlgoPerf's budgets for a per-device batch b: avg_nodes b + 1, avg_edges b, b + 1."""
    return cls(avg_nodes * graphs_per_shard + 1, avg_edges * graphs_per_shard,
               graphs_per_shard + 1)


@dataclasses.dataclass(frozen=True, eq=False)
class GraphSet:
  """Many graphs as flat arrays, in order: graph i owns `n_node[i]` consecutive rows of
  `node_features` and `n_edge[i]` consecutive rows of the edge arrays, whose `senders` and
  `receivers` index the graph's own nodes (0 .. n_node[i] - 1). `labels` has NaN where a
  label is missing."""

  node_features: np.ndarray  # (total_nodes, F_node)
  edge_features: np.ndarray  # (total_edges, F_edge)
  senders: np.ndarray  # (total_edges,)
  receivers: np.ndarray  # (total_edges,)
  n_node: np.ndarray  # (num_graphs,)
  n_edge: np.ndarray  # (num_graphs,)
  labels: np.ndarray  # (num_graphs, T)

  def __len__(self) -> int:
    return len(self.n_node)

  @functools.cached_property
  def node_offsets(self) -> np.ndarray:
    return _exclusive_cumsum(self.n_node)

  @functools.cached_property
  def edge_offsets(self) -> np.ndarray:
    return _exclusive_cumsum(self.n_edge)


def _exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
  counts = np.asarray(counts, np.int64)
  return np.cumsum(counts) - counts


def concatenated_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
  """concatenate([arange(s, s + n) for s, n in zip(starts, lengths)]), without a loop."""
  lengths = np.asarray(lengths, np.int64)
  total = int(lengths.sum())
  shift = np.repeat(np.asarray(starts, np.int64) - _exclusive_cumsum(lengths), lengths)
  return shift + np.arange(total, dtype=np.int64)


def bidirectional(graphs: GraphSet) -> GraphSet:
  """Each graph's edges followed by their reverses (features repeated, senders and receivers
  swapped), as AlgoPerf's `_to_jraph` makes them."""
  n_edge = np.asarray(graphs.n_edge, np.int64)
  # graph i's new block: its edges [start_i, start_i + n_i), then the same edges reversed
  source = concatenated_ranges(np.repeat(graphs.edge_offsets, 2), np.repeat(n_edge, 2))
  reverse = np.repeat(np.tile([False, True], len(n_edge)), np.repeat(n_edge, 2))
  senders = np.where(reverse, graphs.receivers[source], graphs.senders[source])
  receivers = np.where(reverse, graphs.senders[source], graphs.receivers[source])
  return dataclasses.replace(graphs, edge_features=graphs.edge_features[source],
                             senders=senders, receivers=receivers, n_edge=2 * graphs.n_edge)


def num_fitting(n_node: np.ndarray, n_edge: np.ndarray, budget: Budget) -> int:
  """How many leading graphs of a stream go into one shard (greedy, in order, as jraph)."""
  n_node, n_edge = n_node[:budget.graphs - 1], n_edge[:budget.graphs - 1]
  if not len(n_node):
    return 0
  fit = min(int(np.searchsorted(np.cumsum(n_node), budget.nodes - 1, side='right')),
            int(np.searchsorted(np.cumsum(n_edge), budget.edges, side='right')))
  if fit == 0:
    raise ValueError(f'a graph of {n_node[0]} nodes and {n_edge[0]} edges exceeds the budget '
                     f'{budget}')
  return fit


def pad_shard(graphs: GraphSet, ids: np.ndarray, budget: Budget) -> dict[str, np.ndarray]:
  """Graphs `ids` of `graphs` as one padded shard (see the module docstring for the layout)."""
  n_node, n_edge = graphs.n_node[ids].astype(np.int64), graphs.n_edge[ids].astype(np.int64)
  real_nodes, real_edges = int(n_node.sum()), int(n_edge.sum())
  node_rows = concatenated_ranges(graphs.node_offsets[ids], n_node)
  edge_rows = concatenated_ranges(graphs.edge_offsets[ids], n_edge)
  base = np.repeat(_exclusive_cumsum(n_node), n_edge)  # first node of each edge's graph

  def padded(rows, source, length, fill=0, dtype=np.float32):
    out = np.full((length, *source.shape[1:]), fill, dtype)
    out[:len(rows)] = source[rows]
    return out

  senders = np.full(budget.edges, real_nodes, np.int32)  # padding edges: the padding node
  receivers = senders.copy()
  senders[:real_edges] = graphs.senders[edge_rows] + base
  receivers[:real_edges] = graphs.receivers[edge_rows] + base
  labels = graphs.labels[ids]
  num_pad = budget.graphs - len(ids)
  tail = np.zeros(num_pad - 1, np.int32)
  return {
      'node_features': padded(node_rows, graphs.node_features, budget.nodes),
      'edge_features': padded(edge_rows, graphs.edge_features, budget.edges),
      'senders': senders,
      'receivers': receivers,
      'n_node': np.concatenate([n_node, [budget.nodes - real_nodes], tail]).astype(np.int32),
      'n_edge': np.concatenate([n_edge, [budget.edges - real_edges], tail]).astype(np.int32),
      'targets': np.pad(np.nan_to_num(labels, nan=0.0), ((0, num_pad), (0, 0))).astype(
          np.float32),
      'weights': np.pad(~np.isnan(labels), ((0, num_pad), (0, 0))).astype(np.float32),
  }


def stack_shards(shards: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
  return {k: np.stack([s[k] for s in shards]) for k in shards[0]}


class _EpochStream:
  """Graph ids in a per-epoch random order, epochs back to back; position p of the stream
  depends only on (seed, p)."""

  def __init__(self, num_graphs: int, seed: np.random.SeedSequence):
    self.num_graphs, self.seed = num_graphs, seed
    self.permutation = functools.lru_cache(maxsize=2)(self._permutation)  # a batch spans <= 2

  def _permutation(self, epoch: int) -> np.ndarray:
    child = np.random.SeedSequence(self.seed.entropy, spawn_key=(epoch,))
    return np.random.default_rng(child).permutation(self.num_graphs)

  def ids(self, start: int, stop: int) -> np.ndarray:
    parts, pos = [], start
    while pos < stop:
      epoch, offset = divmod(pos, self.num_graphs)
      take = min(stop - pos, self.num_graphs - offset)
      parts.append(self.permutation(epoch)[offset:offset + take])
      pos += take
    return np.concatenate(parts)


def train_batches(graphs: GraphSet, budget: Budget, num_shards: int, rng,
                  start_step: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """Batches of `num_shards` shards forever, from a fresh random order every epoch.

  The packing of batch k depends on how many graphs the batches before it took, so a start at
  `start_step` replays the packing (not the padding) of the earlier batches: the resumed
  iterator continues exactly where an interrupted one stopped.
  """
  stream = _EpochStream(len(graphs), batching.numpy_seed(rng))
  position = 0
  for step in itertools.count():
    shard_ids = []
    for _ in range(num_shards):
      window = stream.ids(position, position + budget.graphs - 1)
      take = num_fitting(graphs.n_node[window], graphs.n_edge[window], budget)
      shard_ids.append(window[:take])
      position += take
    if step >= start_step:
      yield stack_shards([pad_shard(graphs, ids, budget) for ids in shard_ids])


def eval_batches(graphs: GraphSet, budget: Budget, num_shards: int,
                 order: np.ndarray | None = None) -> Iterator[dict[str, np.ndarray]]:
  """The graphs `order` (default: all, in order) once; shards past the end are all padding."""
  order = np.arange(len(graphs)) if order is None else np.asarray(order)
  position = 0
  while position < len(order):
    shard_ids = []
    for _ in range(num_shards):
      window = order[position:position + budget.graphs - 1]
      take = num_fitting(graphs.n_node[window], graphs.n_edge[window], budget)
      shard_ids.append(window[:take])
      position += take
    yield stack_shards([pad_shard(graphs, ids, budget) for ids in shard_ids])


def split_batches(graphs: GraphSet, split: str, rng, budget: Budget, num_shards: int,
                  start_step: int = 0, num_examples: int | None = None,
                  eval_train_seed: int = 0) -> Iterator[dict[str, np.ndarray]]:
  """A workload's batches of `graphs`: forever and shuffled for 'train'; else the first
  `num_examples` graphs once, in order ('eval_train': in one fixed random order)."""
  if split == 'train':
    return train_batches(graphs, budget, num_shards, rng, start_step)
  order = np.arange(len(graphs))
  if split == 'eval_train':
    order = np.random.default_rng(eval_train_seed).permutation(order)
  return eval_batches(graphs, budget, num_shards, order[:num_examples])
