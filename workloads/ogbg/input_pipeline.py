"""ogbg-molpcba from TFDS (`ogbg_molpcba:0.1.3`, spec §6.3), held in host memory as flat
arrays and batched by `workloads.ogbg.graphs`.

Each split is read once per process (ragged batches of TFDS examples, so no per-graph Python
work) and its edges made two-way. Decisions where AlgoPerf's pipeline has no exact
counterpart in this harness's contract:
* train: a fresh random permutation of all 350,343 graphs per epoch (AlgoPerf: shuffled
  files and a 2^15-example shuffle buffer), so that a resumed trial continues exactly;
* eval_train: a fixed random subset of 43,793 training graphs (AlgoPerf draws the next
  batches of its shuffled training stream at every eval);
* validation and test: every graph once, in TFDS order (AlgoPerf takes ceil(43,793 /
  32,768) = 2 batches from a cycled iterator, so an eval may repeat some graphs and
  later evals start where the last one stopped).
Node and edge features are small integer codes; they are stored as uint8 when that is exact.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from workloads.common.tf_data import import_tf
from workloads.ogbg import graphs as graphs_lib

DATASET = 'ogbg_molpcba:0.1.3'
TFDS_SPLIT = {'train': 'train', 'eval_train': 'train', 'validation': 'validation',
              'test': 'test'}
_READ_BATCH = 4096


def _compact(features: np.ndarray) -> np.ndarray:
  """uint8 when every value is an integer in [0, 255] (molecular feature codes), else as is."""
  as_bytes = features.astype(np.uint8)
  return as_bytes if np.array_equal(as_bytes, features) else features


@functools.cache
def load_split(data_dir: str | None, split: str) -> graphs_lib.GraphSet:
  """A TFDS split as a `GraphSet` with two-way edges; labels (graphs, 128), NaN if missing."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  import_tf()
  ds = tfds.load(DATASET, split=split, data_dir=data_dir, shuffle_files=False)
  parts = {k: [] for k in ('node_feat', 'edge_feat', 'edge_index', 'labels', 'n_node',
                           'n_edge')}
  for batch in ds.ragged_batch(_READ_BATCH):
    parts['node_feat'].append(batch['node_feat'].flat_values.numpy())
    parts['edge_feat'].append(batch['edge_feat'].flat_values.numpy())
    parts['edge_index'].append(batch['edge_index'].flat_values.numpy())
    parts['labels'].append(batch['labels'].numpy())
    parts['n_node'].append(batch['num_nodes'].flat_values.numpy())
    parts['n_edge'].append(batch['edge_index'].row_lengths().numpy())
  if not parts['labels']:
    raise ValueError(f'{DATASET} split {split!r} in {data_dir} is empty')
  arrays = {k: np.concatenate(v) for k, v in parts.items()}
  if arrays['n_node'].sum() != len(arrays['node_feat']):
    raise ValueError(f'{DATASET} {split}: num_nodes disagrees with node_feat')
  return graphs_lib.bidirectional(graphs_lib.GraphSet(
      node_features=_compact(arrays['node_feat']),
      edge_features=_compact(arrays['edge_feat']),
      senders=arrays['edge_index'][:, 0].astype(np.int32),
      receivers=arrays['edge_index'][:, 1].astype(np.int32),
      n_node=arrays['n_node'].astype(np.int32), n_edge=arrays['n_edge'].astype(np.int32),
      labels=arrays['labels'].astype(np.float32)))


def batches(data_dir: str | None, split: str, rng, budget: graphs_lib.Budget, num_shards: int,
            start_step: int = 0, num_examples: int | None = None) -> Iterator[dict]:
  """Training batches forever ('train'), or the first `num_examples` graphs of an eval split
  once ('eval_train': of the training graphs in a fixed random order)."""
  return graphs_lib.split_batches(load_split(data_dir, TFDS_SPLIT[split]), split, rng, budget,
                                  num_shards, start_step, num_examples)


def as_tfds_dataset(graphs: graphs_lib.GraphSet):
  """`graphs` (edges one way) as a tf.data.Dataset of TFDS ogbg_molpcba examples: the inverse
  of `load_split`, for mock data in tests and benchmarks."""
  tf = import_tf()

  def examples():
    for i in range(len(graphs)):
      nodes = slice(graphs.node_offsets[i], graphs.node_offsets[i] + graphs.n_node[i])
      edges = slice(graphs.edge_offsets[i], graphs.edge_offsets[i] + graphs.n_edge[i])
      yield {'num_nodes': np.array([graphs.n_node[i]], np.int64),
             'node_feat': graphs.node_features[nodes].astype(np.float32),
             'num_edges': np.array([graphs.n_edge[i]], np.int64),
             'edge_feat': graphs.edge_features[edges].astype(np.float32),
             'edge_index': np.stack([graphs.senders[edges], graphs.receivers[edges]],
                                    1).astype(np.int64),
             'labels': graphs.labels[i].astype(np.float32)}

  node_dim, edge_dim = graphs.node_features.shape[1], graphs.edge_features.shape[1]
  signature = {'num_nodes': tf.TensorSpec([None], tf.int64),
               'node_feat': tf.TensorSpec([None, node_dim], tf.float32),
               'num_edges': tf.TensorSpec([None], tf.int64),
               'edge_feat': tf.TensorSpec([None, edge_dim], tf.float32),
               'edge_index': tf.TensorSpec([None, 2], tf.int64),
               'labels': tf.TensorSpec([graphs.labels.shape[1]], tf.float32)}
  return tf.data.Dataset.from_generator(examples, output_signature=signature)
