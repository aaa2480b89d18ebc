"""ogbg: a graph network predicting 128 bioassay outcomes of molecules (ogbg-molpcba), scored
by mean average precision (spec §6)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import spec
from workloads.common import data_check
from workloads.common.facts import from_configs
from workloads.ogbg import graphs as graphs_lib
from workloads.ogbg import metrics
from workloads.ogbg.model import GNN

_GRAPH_KEYS = ('node_features', 'edge_features', 'senders', 'receivers', 'n_node', 'n_edge')


class GraphPropertyWorkload(spec.Workload):
  """Shared by the full-size workload and its small sibling: model, loss, batching, metric.

  Batches are stacks of per-device graph batches (`workloads.ogbg.graphs`); the model runs on
  each shard (vmapped), so logits, targets and weights are (shards, graphs, tasks). The number
  of real graphs per batch varies under the node, edge and graph budgets, as in AlgoPerf
  (spec §13.4; its step hint and targets were set with this batching).
  """

  target_metric_name = 'mean_average_precision'
  target_metric_mode = 'max'
  loss_type = spec.LossType.SIGMOID_CROSS_ENTROPY
  num_tasks = 128
  node_feature_dim, edge_feature_dim = 9, 3
  # Budgets per graph of a per-device batch: molpcba's mean nodes and (two-way) edges per graph.
  avg_nodes_per_graph, avg_edges_per_graph = 26, 56
  model_kwargs: dict = {}

  def __init__(self):
    self._model = GNN(num_outputs=self.num_tasks, **self.model_kwargs)

  @property
  def num_eval_train_examples(self) -> int:
    return self.num_validation_examples  # as AlgoPerf (not rounded up to the eval batch)

  def budget(self, global_batch_size: int) -> tuple[graphs_lib.Budget, int]:
    """The per-shard budget of a host batch of `global_batch_size` graphs, and the shards."""
    num_shards = jax.local_device_count()
    if global_batch_size % num_shards:
      raise ValueError(f'batch of {global_batch_size} graphs does not split over {num_shards} '
                       'devices')
    return graphs_lib.Budget.for_batch(global_batch_size // num_shards,
                                       self.avg_nodes_per_graph,
                                       self.avg_edges_per_graph), num_shards

  def synthetic_batch(self, batch_size, seed=0):
    """Random chain molecules (both edge directions), labels half missing, batched as the
    pipeline batches them."""
    rng = np.random.default_rng(seed)
    n_node = rng.integers(2, self.avg_nodes_per_graph // 2, batch_size)
    within = np.concatenate([np.arange(n - 1) for n in n_node])  # graph-local node ids
    senders = np.stack([within, within + 1], axis=1).reshape(-1)
    receivers = np.stack([within + 1, within], axis=1).reshape(-1)
    labels = rng.integers(0, 2, (batch_size, self.num_tasks)).astype(np.float32)
    labels[rng.random(labels.shape) < 0.5] = np.nan
    graphs = graphs_lib.GraphSet(
        node_features=rng.integers(0, 5, (n_node.sum(), self.node_feature_dim)).astype(np.uint8),
        edge_features=rng.integers(0, 3, (2 * (n_node - 1).sum(),
                                          self.edge_feature_dim)).astype(np.uint8),
        senders=senders.astype(np.int32), receivers=receivers.astype(np.int32),
        n_node=n_node.astype(np.int32), n_edge=(2 * (n_node - 1)).astype(np.int32),
        labels=labels)
    budget, num_shards = self.budget(batch_size)
    return next(graphs_lib.eval_batches(graphs, budget, num_shards))

  def init_model_fn(self, rng):
    one_node = {'node_features': jnp.ones((1, self.node_feature_dim)),
                'edge_features': jnp.ones((1, self.edge_feature_dim)),
                'senders': jnp.zeros((1,), jnp.int32), 'receivers': jnp.zeros((1,), jnp.int32),
                'n_node': jnp.ones((1,), jnp.int32), 'n_edge': jnp.ones((1,), jnp.int32)}
    init = jax.jit(functools.partial(self._model.init, train=False))
    return init({'params': rng}, one_node)['params'], {}

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    del update_batch_norm, use_running_average_bn  # no batch norm
    train = mode == spec.ForwardPassMode.TRAIN
    batch = augmented_and_preprocessed_input_batch
    graph = {k: batch[k] for k in _GRAPH_KEYS}

    def shard_logits(shard, shard_rng):
      return self._model.apply({'params': params}, shard, train=train,
                               dropout_rate=dropout_rate,
                               rngs={'dropout': shard_rng} if train else None)

    if not train:
      return jax.vmap(lambda shard: shard_logits(shard, None))(graph), model_state
    rngs = jax.random.split(rng, graph['n_node'].shape[0])
    return jax.vmap(shard_logits)(graph, rngs), model_state

  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    return metrics.sigmoid_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

  def eval_batch(self, params, model_state, batch, rng):
    return self._eval_outputs(params, model_state, batch, rng)[0]

  def _eval_outputs(self, params, model_state, batch, rng):
    """(sums of loss and correct predictions over valid labels, and their count;
    the probabilities of every row, for the mAP)."""
    logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng,
                              update_batch_norm=False)
    weights = batch['weights']
    loss = self.loss_fn(batch['targets'], logits, weights)['summed']
    correct = jnp.sum(((logits > 0) == (batch['targets'] > 0.5)) * weights)
    sums = {'loss': loss, 'accuracy': correct, 'num_labels': weights.sum()}
    return sums, jax.nn.sigmoid(logits)

  def eval_model_on_split(self, split, num_examples, params, model_state, rng, data_dir,
                          place_batch):
    """Loss and accuracy summed on the device; mAP on the host from every row's probabilities
    (the only device-to-host transfer: 4 bytes per graph and task, padding graphs included,
    which are about one per shard)."""
    if not hasattr(self, '_eval_outputs_jit'):
      self._eval_outputs_jit = jax.jit(self._eval_outputs)
    sums, probabilities, labels, masks = None, [], [], []
    for batch in self.input_iterator(split, rng, self.eval_batch_size, data_dir):
      labels.append(batch['targets'].reshape(-1, self.num_tasks))
      masks.append(batch['weights'].reshape(-1, self.num_tasks))
      out, probs = self._eval_outputs_jit(params, model_state, place_batch(batch), rng)
      sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
      probabilities.append(probs)
    sums, probabilities = jax.device_get((sums, probabilities))
    probabilities = np.concatenate([p.reshape(-1, self.num_tasks) for p in probabilities])
    return {'mean_average_precision': metrics.mean_average_precision(
                probabilities, np.concatenate(labels), np.concatenate(masks)),
            **self.finalize_metrics(sums, num_examples)}

  def finalize_metrics(self, sums, num_examples):
    """Loss and accuracy as means over the valid labels (AlgoPerf's masked averages)."""
    del num_examples  # every graph of the split is evaluated once
    count = float(sums['num_labels'])
    return {'accuracy': float(sums['accuracy']) / count, 'loss': float(sums['loss']) / count}


@from_configs
class OgbgWorkload(GraphPropertyWorkload):
  """The 5-step GNN (3,554,176 params) on TFDS `ogbg_molpcba:0.1.3` in `data_dir`
  (scripts/prepare_data.py)."""

  name = 'ogbg'
  dataset = 'ogbg-molpcba (TFDS ogbg_molpcba:0.1.3): 128 binary tasks, labels partly missing'
  num_train_examples = 350_343
  num_validation_examples = 43_793
  num_test_examples = 43_793
  eval_batch_size = 32_768

  def check_data(self, data_dir):
    data_check.require(self.name, data_dir, ['ogbg_molpcba/0.1.3/dataset_info.json'], 'ogbg',
                       packages=('tensorflow', 'tensorflow_datasets'))

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    from workloads.ogbg import input_pipeline  # pylint: disable=g-import-not-at-top

    budget, num_shards = self.budget(global_batch_size)
    return input_pipeline.batches(data_dir, split, rng, budget, num_shards, start_step,
                                  self.split_sizes().get(split))
