"""ogbg's batching against jraph's `dynamically_batch`, exact resume and split coverage, the
molpcba pipeline end to end on TFDS mock data (train step and eval, mAP checked with
scikit-learn), and batches sharded over 4 devices."""

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from avgperf import spec
from workloads import registry
from workloads.ogbg import graphs as graphs_lib
from workloads.ogbg import molecules

REPO = Path(__file__).resolve().parents[2]


def _numbered_molecules(num_graphs: int, seed: int = 0) -> graphs_lib.GraphSet:
  """Molecules whose one label is their index + 1 (so batches say which graphs they hold)."""
  graphs = graphs_lib.bidirectional(molecules.make_molecules(seed, num_graphs))
  return dataclasses.replace(graphs, labels=np.arange(1, num_graphs + 1, dtype=np.float32)[:, None])


def _ids(batch) -> list[np.ndarray]:
  """Per shard, the indices of its real graphs, in order."""
  return [t[w > 0] - 1 for t, w in zip(batch['targets'][..., 0], batch['weights'][..., 0])]


def test_batches_equal_jraph_dynamically_batch():
  jraph = pytest.importorskip('jraph')
  graphs = graphs_lib.bidirectional(molecules.make_molecules(1, 40, missing_rates=np.full(
      len(molecules.TASKS), 0.3)))
  budget = graphs_lib.Budget.for_batch(6, 16, 35)

  def one(i):
    nodes = slice(graphs.node_offsets[i], graphs.node_offsets[i] + graphs.n_node[i])
    edges = slice(graphs.edge_offsets[i], graphs.edge_offsets[i] + graphs.n_edge[i])
    return jraph.GraphsTuple(
        nodes=graphs.node_features[nodes].astype(np.float32),
        edges=graphs.edge_features[edges].astype(np.float32), senders=graphs.senders[edges],
        receivers=graphs.receivers[edges], n_node=graphs.n_node[i:i + 1],
        n_edge=graphs.n_edge[i:i + 1], globals=graphs.labels[i:i + 1])

  theirs = list(jraph.dynamically_batch(map(one, range(len(graphs))), budget.nodes,
                                        budget.edges, budget.graphs))
  ours = list(graphs_lib.eval_batches(graphs, budget, num_shards=1))
  assert len(ours) == len(theirs) > 5
  for mine, reference in zip(ours, theirs):
    for key, field in [('node_features', 'nodes'), ('edge_features', 'edges'),
                       ('senders', 'senders'), ('receivers', 'receivers'),
                       ('n_node', 'n_node'), ('n_edge', 'n_edge')]:
      np.testing.assert_array_equal(mine[key][0], getattr(reference, field), err_msg=key)
    labels = reference.globals
    np.testing.assert_array_equal(mine['targets'][0], np.nan_to_num(labels, nan=0.0))
    real = np.arange(len(labels)) < len(labels) - np.sum(jraph.get_graph_padding_mask(
        reference) == 0)
    np.testing.assert_array_equal(mine['weights'][0], ~np.isnan(labels) & real[:, None])


def test_train_batches_resume_exactly_and_each_epoch_is_a_permutation():
  graphs = _numbered_molecules(50)
  budget = graphs_lib.Budget.for_batch(4, 16, 35)
  rng = jax.random.PRNGKey(0)
  run = list(zip(range(16), graphs_lib.train_batches(graphs, budget, 2, rng)))
  resumed = graphs_lib.train_batches(graphs, budget, 2, rng, start_step=7)
  for _, batch in run[7:]:
    again = next(resumed)
    for key in batch:
      np.testing.assert_array_equal(batch[key], again[key])
  order = np.concatenate([ids for _, b in run for ids in _ids(b)])
  assert len(order) > 80 and sorted(order[:50]) == list(range(50))
  assert sorted(order[50:80]) != list(range(30))  # the second epoch is a fresh order
  other = next(graphs_lib.train_batches(graphs, budget, 2, jax.random.PRNGKey(1)))
  assert not np.array_equal(_ids(other)[0], _ids(run[0][1])[0])


def test_eval_batches_hold_every_graph_once_within_budgets():
  graphs = _numbered_molecules(23)
  budget = graphs_lib.Budget.for_batch(3, 16, 35)
  batches = list(graphs_lib.split_batches(graphs, 'validation', None, budget, 3))
  assert np.concatenate([i for b in batches for i in _ids(b)]).tolist() == list(range(23))
  for b in batches:
    assert b['node_features'].shape == (3, budget.nodes, 9)
    assert np.all(b['n_node'].sum(-1) == budget.nodes) and np.all(
        b['n_edge'].sum(-1) == budget.edges)
    for s, count in enumerate(_real_counts(b)):
      real_nodes = b['n_node'][s, :count].sum()
      padding_edges = b['senders'][s, b['n_edge'][s, :count].sum():]
      assert np.all(padding_edges == real_nodes)  # they join the padding graph's first node
      assert np.all(b['weights'][s, count:] == 0)
  assert np.all(batches[-1]['n_node'][-1, 0] == budget.nodes)  # an all-padding last shard
  eval_train = list(graphs_lib.split_batches(graphs, 'eval_train', None, budget, 3,
                                             num_examples=10))
  chosen = np.concatenate([i for b in eval_train for i in _ids(b)])
  assert sorted(chosen) != list(range(10)) and len(set(chosen)) == 10
  with pytest.raises(ValueError, match='exceeds the budget'):
    next(graphs_lib.eval_batches(graphs, graphs_lib.Budget(nodes=5, edges=100, graphs=3), 1))


def _real_counts(batch):
  return (batch['n_node'] > 0).sum(-1) - 1


def test_small_workload_splits_and_resume():
  workload = registry.get('ogbg_small')
  rng = jax.random.PRNGKey(0)
  run = [b for _, b in zip(range(5), workload.input_iterator('train', rng, 32))]
  again = next(workload.input_iterator('train', rng, 32, start_step=4))
  for key in again:
    np.testing.assert_array_equal(run[4][key], again[key])
  for split, n in workload.split_sizes().items():
    batches = list(workload.input_iterator(split, rng, workload.eval_batch_size))
    assert sum(int(_real_counts(b).sum()) for b in batches) == n
  missing = np.mean([1 - b['weights'][:, :c].mean() for b in run for c in _real_counts(b)])
  assert 0.2 < missing < 0.5  # each task's missing share is drawn from 10-60%


def _mock_molpcba(sizes: dict[str, int]):
  """tfds mock data serving molecules (one-way bonds, 128 labels, NaN if missing) per split."""
  tfds = pytest.importorskip('tensorflow_datasets')
  from workloads.ogbg import input_pipeline  # pylint: disable=g-import-not-at-top

  data = {split: molecules.molpcba_like(10 + i, n) for i, (split, n) in enumerate(sizes.items())}

  def as_dataset(self, split, **kwargs):
    del self, kwargs
    return input_pipeline.as_tfds_dataset(data[str(split)])

  return data, tfds.testing.mock_data(num_examples=max(sizes.values()),
                                      as_dataset_fn=as_dataset)


def _probabilities_of(workload, params, graphs: graphs_lib.GraphSet) -> np.ndarray:
  """The model's probabilities for every graph, from one batch holding them all."""
  budget = graphs_lib.Budget.for_batch(len(graphs), 30, 70)
  batch = next(graphs_lib.eval_batches(graphs, budget, 1))
  logits, _ = workload.model_fn(params, batch, {}, spec.ForwardPassMode.EVAL, None, False)
  return 1 / (1 + np.exp(-np.asarray(logits, np.float64)[0, :len(graphs)]))


def test_molpcba_pipeline_end_to_end_on_mock_data():
  """TFDS split -> graphs -> batches -> model_fn -> loss and a train step; eval of all splits
  with mAP, accuracy and loss against scikit-learn and numpy on the same graphs."""
  from workloads.ogbg import input_pipeline  # pylint: disable=g-import-not-at-top

  data, mock = _mock_molpcba({'train': 30, 'validation': 14, 'test': 9})
  workload = registry.get('ogbg')
  workload.eval_batch_size = 8  # 3 batches of at most 8 graphs for 14
  workload.num_validation_examples, workload.num_test_examples = 14, 9
  params, state = workload.init_model_fn(jax.random.PRNGKey(0))
  input_pipeline.load_split.cache_clear()
  try:
    with mock:
      loaded = input_pipeline.load_split(None, 'validation')
      batch = next(workload.input_iterator('train', jax.random.PRNGKey(1), 4))
      metrics = workload.eval_model(params, state, jax.random.PRNGKey(2))
  finally:
    input_pipeline.load_split.cache_clear()
  expected = graphs_lib.bidirectional(data['validation'])
  for field in ('node_features', 'edge_features', 'senders', 'receivers', 'n_node', 'n_edge'):
    np.testing.assert_array_equal(getattr(loaded, field), getattr(expected, field))
  np.testing.assert_array_equal(loaded.labels, expected.labels)  # NaN where missing
  assert loaded.node_features.dtype == np.uint8  # integer codes, stored compactly

  def loss_fn(p):
    logits, _ = workload.model_fn(p, batch, state, spec.ForwardPassMode.TRAIN,
                                  jax.random.PRNGKey(3), True, dropout_rate=0.1)
    out = workload.loss_fn(batch['targets'], logits, batch['weights'], 0.1)
    return out['summed'] / out['n_valid_examples']

  loss, grads = jax.jit(jax.value_and_grad(loss_fn))(params)
  assert np.isfinite(loss) and all(np.isfinite(g).all() for g in jax.tree.leaves(grads))
  assert batch['targets'].shape == (1, 5, 128)  # one device: 4 graphs + 1 padding

  probabilities = _probabilities_of(workload, params, expected)
  labels, mask = np.nan_to_num(expected.labels), ~np.isnan(expected.labels)
  counted = [t for t in range(128) if labels[mask[:, t], t].any()]  # a padding graph holds 0s
  reference = np.mean([average_precision_score(labels[mask[:, t], t],
                                               probabilities[mask[:, t], t]) for t in counted])
  assert metrics['validation/mean_average_precision'] == pytest.approx(reference, abs=1e-6)
  p = np.clip(probabilities, 1e-12, 1 - 1e-12)
  bce = -(labels * np.log(p) + (1 - labels) * np.log(1 - p))
  assert metrics['validation/loss'] == pytest.approx(bce[mask].mean(), rel=1e-4)
  correct = (probabilities > 0.5) == (labels > 0.5)
  assert metrics['validation/accuracy'] == pytest.approx(correct[mask].mean(), abs=1e-6)
  for split, n in [('train', 14), ('validation', 14), ('test', 9)]:
    assert metrics[f'{split}/num_examples'] == n
    assert 0 < metrics[f'{split}/mean_average_precision'] <= 1


_SHARDED = """
import json
import jax
import numpy as np
from avgperf import sharding, spec
from workloads import registry
w = registry.get('ogbg_small')
params, state = w.init_model_fn(jax.random.PRNGKey(0))
batch = next(w.input_iterator('train', jax.random.PRNGKey(1), 32))
forward = jax.jit(lambda p, b: w.model_fn(p, b, state, spec.ForwardPassMode.EVAL, None, False)[0])
sharded = forward(sharding.replicate(params), sharding.place_batch(batch))
alone = [forward(params, {k: v[s:s + 1] for k, v in batch.items()}) for s in range(4)]
rng = jax.random.PRNGKey(2)
placed = w.eval_model(sharding.replicate(params), state, rng, None, sharding.place_eval_batch)
print(json.dumps({
    'shards': batch['n_node'].shape[0], 'spec': str(sharded.sharding.spec[0]),
    'max_difference': float(np.abs(np.asarray(sharded) - np.concatenate(alone)).max()),
    'map': [placed['validation/mean_average_precision'],
            w.eval_model(params, state, rng)['validation/mean_average_precision']]}))
"""


def test_batches_shard_over_four_devices():
  """One shard per device: sharded logits equal each shard's alone, and so does the eval."""
  env = {**os.environ, 'XLA_FLAGS': '--xla_force_host_platform_device_count=4',
         'JAX_PLATFORMS': 'cpu'}
  out = subprocess.run([sys.executable, '-c', _SHARDED], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=600)
  assert out.returncode == 0, out.stderr[-3000:]
  result = json.loads(out.stdout.strip().splitlines()[-1])
  assert result['shards'] == 4 and result['spec'] == 'batch'
  assert result['max_difference'] < 1e-5
  assert result['map'][0] == pytest.approx(result['map'][1], abs=1e-6)


def test_prepare_data_ogbg_dry_run(capsys):
  spec_ = importlib.util.spec_from_file_location('prepare_data', REPO / 'scripts' /
                                                 'prepare_data.py')
  prepare_data = importlib.util.module_from_spec(spec_)
  spec_.loader.exec_module(prepare_data)
  assert prepare_data.main(['ogbg', '--data_dir=/nonexistent', '--dry_run']) == 0
  assert 'ogbg_molpcba:0.1.3' in capsys.readouterr().out
