"""The graph network of AlgoPerf's ogbg workload (spec §6.1), over one padded graph batch.

Embeddings Dense(256) of node and edge features; per graph a global vector of `num_outputs`
zeros; then `num_message_passing_steps` rounds of a full graph network (jraph's
`GraphNetwork` with its default segment sums), each with its own edge, node and global
update MLPs (Dense -> LayerNorm -> activation -> dropout per hidden layer); finally
Dense(num_outputs) on the globals: one logit per graph and task.

The parameter tree is flat, named as AlgoPerf's: `node_embedding`, `edge_embedding`,
`Dense_0..` and `LayerNorm_0..` in the order the update MLPs are built (edge, node, global in
each round), and the decoder last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from workloads.common.layers import Dropout

DROPOUT_RATE = 0.1  # the model file's default, used when model_fn is given no rate


def segment_sum(values: jax.Array, segment_ids: jax.Array, num_segments: int) -> jax.Array:
  """Sums rows of `values` by segment (jraph's default aggregation)."""
  return jax.ops.segment_sum(values, segment_ids, num_segments)


def graph_ids(counts: jax.Array, total: int) -> jax.Array:
  """The graph of each of `total` rows, given each graph's row count (counts sum to total)."""
  return jnp.repeat(jnp.arange(counts.shape[0]), counts, total_repeat_length=total)


class GNN(nn.Module):
  """The ogbg graph network; its call maps one padded graph batch to (graphs, num_outputs)."""

  num_outputs: int = 128
  latent_dim: int = 256
  hidden_dims: Sequence[int] = (256,)
  num_message_passing_steps: int = 5
  activation: Callable[[jax.Array], jax.Array] = nn.relu

  def _mlp(self, inputs: Sequence[jax.Array], train: bool, dropout_rate) -> jax.Array:
    """The update MLP on its concatenated arguments (created inline: flat parameter names)."""
    x = jnp.concatenate(inputs, axis=-1)
    for width in self.hidden_dims:
      x = nn.Dense(width)(x)
      x = nn.LayerNorm()(x)
      x = self.activation(x)
      x = Dropout()(x, dropout_rate, deterministic=not train)
    return x

  @nn.compact
  def __call__(self, graph: Mapping[str, jax.Array], train: bool,
               dropout_rate=None) -> jax.Array:
    """`graph`: node_features (N, F), edge_features (E, F'), senders, receivers (E,),
    n_node, n_edge (G,), as one shard of `workloads.ogbg.graphs`."""
    rate = DROPOUT_RATE if dropout_rate is None else dropout_rate
    nodes = nn.Dense(self.latent_dim, name='node_embedding')(graph['node_features'])
    edges = nn.Dense(self.latent_dim, name='edge_embedding')(graph['edge_features'])
    senders, receivers = graph['senders'], graph['receivers']
    num_nodes, num_edges, num_graphs = nodes.shape[0], edges.shape[0], graph['n_node'].shape[0]
    node_graph = graph_ids(graph['n_node'], num_nodes)
    edge_graph = graph_ids(graph['n_edge'], num_edges)
    globals_ = jnp.zeros((num_graphs, self.num_outputs), nodes.dtype)
    for _ in range(self.num_message_passing_steps):
      edges = self._mlp([edges, nodes[senders], nodes[receivers], globals_[edge_graph]], train,
                        rate)
      sent = segment_sum(edges, senders, num_nodes)
      received = segment_sum(edges, receivers, num_nodes)
      nodes = self._mlp([nodes, sent, received, globals_[node_graph]], train, rate)
      globals_ = self._mlp([segment_sum(nodes, node_graph, num_graphs),
                            segment_sum(edges, edge_graph, num_graphs), globals_], train, rate)
    return nn.Dense(self.num_outputs)(globals_)
