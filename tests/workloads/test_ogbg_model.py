"""ogbg's model, loss and metric against independent computations: the spec's parameter tree
(jax.eval_shape), a jraph GraphNetwork with the same weights, unpadded graphs one by one,
the loss in float64 by its textbook formula, and scikit-learn's average precision."""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from avgperf import spec
from workloads import registry
from workloads.ogbg import graphs as graphs_lib
from workloads.ogbg import metrics
from workloads.ogbg import molecules
from workloads.ogbg.model import GNN


def _count(tree) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


def test_full_model_has_the_spec_parameter_tree():
  params, state = registry.get('ogbg').abstract_init()
  assert _count(params) == 3_554_176 and _count(state) == 0
  expected = {'node_embedding': (9, 256), 'edge_embedding': (3, 256), 'Dense_15': (256, 128)}
  for step in range(5):  # edge, node, global update of each round
    globals_in = 128 if step == 0 else 256
    for i, fan_in in enumerate((3 * 256 + globals_in, 3 * 256 + globals_in,
                                2 * 256 + globals_in)):
      expected[f'Dense_{3 * step + i}'] = (fan_in, 256)
  assert set(params) == set(expected) | {f'LayerNorm_{i}' for i in range(15)}  # 33 keys
  for name, kernel in expected.items():
    assert params[name]['kernel'].shape == kernel and params[name]['bias'].shape == kernel[1:]
  for i in range(15):
    assert {k: v.shape for k, v in params[f'LayerNorm_{i}'].items()} == {
        'scale': (256,), 'bias': (256,)}
  assert _count(params['Dense_0']) == 229_632 and _count(params['Dense_2']) == 164_096
  assert _count(params['Dense_3']) == 262_400 and _count(params['Dense_5']) == 196_864


def test_small_model_is_the_spec_small_configuration():
  graph = {'node_features': jnp.ones((1, 9)), 'edge_features': jnp.ones((1, 3)),
           'senders': jnp.zeros(1, jnp.int32), 'receivers': jnp.zeros(1, jnp.int32),
           'n_node': jnp.ones(1, jnp.int32), 'n_edge': jnp.ones(1, jnp.int32)}
  small = GNN(num_outputs=128, latent_dim=64, hidden_dims=(64,), num_message_passing_steps=3)
  variables = jax.eval_shape(lambda: small.init(jax.random.PRNGKey(0), graph, train=False))
  assert _count(variables['params']) == 158_400  # spec §6.6
  params, _ = registry.get('ogbg_small').abstract_init()
  # 20 tasks, not 128: fewer global inputs to round 1's three MLPs, fewer decoder outputs
  assert _count(params) == 158_400 - (3 * 64 + 64 + 1) * (128 - 20)


def _molecule_batches(num_graphs=11, graphs_per_shard=4, num_shards=2):
  graphs = graphs_lib.bidirectional(molecules.make_molecules(3, num_graphs))
  budget = graphs_lib.Budget.for_batch(graphs_per_shard, 16, 35)
  return graphs, list(graphs_lib.eval_batches(graphs, budget, num_shards))


def _real_counts(batch):
  return (batch['n_node'] > 0).sum(-1) - 1  # the padding graph keeps at least one node


def test_padded_batches_give_each_graph_its_own_output():
  """Two sizes of molecule, alternating (so each unpadded size compiles once)."""
  workload = registry.get('ogbg_small')
  params, state = workload.init_model_fn(jax.random.PRNGKey(0))
  graphs = graphs_lib.bidirectional(molecules.make_molecules(4, 80))
  shapes = list(zip(graphs.n_node, graphs.n_edge))
  common = sorted(set(shapes), key=shapes.count)[-2:]
  groups = [[i for i, shape in enumerate(shapes) if shape == c][:5] for c in common]
  chosen = [i for pair in zip(*groups) for i in pair]
  budget = graphs_lib.Budget.for_batch(3, 16, 35)
  batches = list(graphs_lib.eval_batches(graphs, budget, 2, order=chosen))
  logits = jax.jit(lambda batch: workload.model_fn(params, batch, state,
                                                   spec.ForwardPassMode.EVAL, None, False)[0])
  padded = [np.asarray(logits(b))[s, :k] for b in batches for s, k in enumerate(_real_counts(b))]
  padded = np.concatenate(padded)
  assert len(padded) == len(chosen) >= 8 and len(batches) >= 2
  for row, i in enumerate(chosen):
    nodes = slice(graphs.node_offsets[i], graphs.node_offsets[i] + graphs.n_node[i])
    edges = slice(graphs.edge_offsets[i], graphs.edge_offsets[i] + graphs.n_edge[i])
    alone = {'node_features': graphs.node_features[nodes][None].astype(np.float32),
             'edge_features': graphs.edge_features[edges][None].astype(np.float32),
             'senders': graphs.senders[edges][None], 'receivers': graphs.receivers[edges][None],
             'n_node': graphs.n_node[i:i + 1][None], 'n_edge': graphs.n_edge[i:i + 1][None]}
    np.testing.assert_allclose(padded[row], logits(alone)[0, 0], rtol=1e-4, atol=1e-5)


class _JraphGNN(nn.Module):
  """The spec's network (§6.1) in jraph's own terms, as AlgoPerf builds it."""

  num_outputs: int
  latent_dim: int
  steps: int

  @nn.compact
  def __call__(self, graph):
    import jraph  # pylint: disable=g-import-not-at-top

    graph = graph._replace(globals=jnp.zeros((graph.n_node.shape[0], self.num_outputs)))
    graph = jraph.GraphMapFeatures(
        embed_node_fn=nn.Dense(self.latent_dim, name='node_embedding'),
        embed_edge_fn=nn.Dense(self.latent_dim, name='edge_embedding'))(graph)

    def update():
      return jraph.concatenated_args(lambda x: nn.relu(nn.LayerNorm()(nn.Dense(self.latent_dim)(
          x))))

    for _ in range(self.steps):
      graph = jraph.GraphNetwork(update_edge_fn=update(), update_node_fn=update(),
                                 update_global_fn=update())(graph)
    return nn.Dense(self.num_outputs)(graph.globals)


def test_model_equals_a_jraph_graph_network_with_the_same_weights():
  jraph = pytest.importorskip('jraph')
  workload = registry.get('ogbg_small')
  params, state = workload.init_model_fn(jax.random.PRNGKey(1))
  _, batches = _molecule_batches()
  batch = batches[0]
  ours, _ = workload.model_fn(params, batch, state, spec.ForwardPassMode.EVAL, None, False)
  reference = _JraphGNN(num_outputs=workload.num_tasks, latent_dim=64, steps=3)
  for s in range(batch['n_node'].shape[0]):
    graph = jraph.GraphsTuple(
        nodes=batch['node_features'][s], edges=batch['edge_features'][s],
        senders=batch['senders'][s], receivers=batch['receivers'][s],
        n_node=batch['n_node'][s], n_edge=batch['n_edge'][s], globals=None)
    theirs = reference.apply({'params': params}, graph)
    np.testing.assert_allclose(ours[s], theirs, rtol=1e-4, atol=1e-5)


def test_loss_is_the_masked_smoothed_binary_cross_entropy():
  rng = np.random.default_rng(0)
  logits = rng.normal(0, 4, (3, 5, 128)).astype(np.float32)
  labels = (rng.random(logits.shape) < 0.3).astype(np.float32)
  mask = (rng.random(logits.shape) < 0.6).astype(np.float32)
  out = registry.get('ogbg').loss_fn(labels, logits, mask, label_smoothing=0.2)
  y = labels.astype(np.float64) * 0.8 + 0.2 / 128
  p = 1 / (1 + np.exp(-logits.astype(np.float64)))
  expected = -(y * np.log(p) + (1 - y) * np.log(1 - p)) * mask
  np.testing.assert_allclose(out['per_example'], expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(out['summed'], expected.sum(), rtol=1e-5)
  assert out['n_valid_examples'] == mask.sum()
  unmasked = registry.get('ogbg').loss_fn(labels, logits)
  assert unmasked['n_valid_examples'] == labels.size


def _labels_with_special_tasks(rng, n=400, tasks=7, padding_rows=9):
  """Labels (missing ones 0, as the pipeline sets them), mask and tied probabilities, and
  `padding_rows` rows of padding graphs (labels 0, mask 0)."""
  probabilities = np.round(rng.random((n, tasks)), 2)  # many ties
  mask = rng.random((n, tasks)) < 0.7
  labels = (rng.random((n, tasks)) < 0.2) & mask
  labels[:, 1] = False  # no labelled positive: not counted
  labels[:, 2] = mask[:, 2]  # every labelled row positive, zeros only where missing: counted
  mask[:, 3], labels[:, 3] = True, True  # all positive, no zero anywhere: not counted
  mask[:, 4] = rng.random(n) < 0.05  # mostly missing
  labels[:, 4] &= mask[:, 4]
  padding = np.zeros((padding_rows, tasks), bool)
  return (np.concatenate([probabilities, padding]), np.concatenate([labels, padding]),
          np.concatenate([mask, padding]))


def test_average_precision_matches_scikit_learn_per_task():
  probabilities, labels, mask = _labels_with_special_tasks(np.random.default_rng(0))
  for task in (0, 2, 4, 5, 6):
    rows = mask[:, task]
    ours = metrics.average_precision(labels[rows, task], probabilities[rows, task])
    assert ours == pytest.approx(average_precision_score(labels[rows, task],
                                                         probabilities[rows, task]), abs=1e-12)


@pytest.mark.parametrize('padding_rows, counted', [
    (0, [0, 2, 4, 5, 6]),  # task 3 has no 0 in its column
    (9, [0, 2, 3, 4, 5, 6]),  # padding graphs' zeros count (AlgoPerf: every batch has one)
])
def test_mean_average_precision_counts_tasks_as_ogb(padding_rows, counted):
  probabilities, labels, mask = _labels_with_special_tasks(np.random.default_rng(1),
                                                           padding_rows=padding_rows)
  expected = np.mean([average_precision_score(labels[mask[:, t], t],
                                              probabilities[mask[:, t], t]) for t in counted])
  ours = metrics.mean_average_precision(probabilities, labels.astype(np.float32),
                                        mask.astype(np.float32))
  assert ours == pytest.approx(expected, abs=1e-12)
  assert average_precision_score(labels[mask[:, 2], 2], probabilities[mask[:, 2], 2]) == 1.0
  no_task = metrics.mean_average_precision(probabilities, np.zeros_like(probabilities),
                                           mask.astype(np.float32))
  assert math.isnan(no_task)
