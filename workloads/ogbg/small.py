"""ogbg_small: the same graph network code (latent 64, 3 message-passing steps) on random
molecule-like graphs with OGB's atom and bond feature columns, predicting 20 structural facts
with labels partly missing; same batching under budgets, masked loss and mean AP."""

from __future__ import annotations

import functools

import numpy as np

from workloads.common.facts import from_configs
from workloads.ogbg import graphs as graphs_lib
from workloads.ogbg import molecules
from workloads.ogbg.workload import GraphPropertyWorkload

SPLIT_SIZES = {'train': 8_000, 'validation': 2_000, 'test': 2_000}
DATA_SEED = 0  # the data set is fixed, as a real one is; trials differ in order and init
MISSING_RATES = (0.1, 0.6)  # each task's share of missing labels is drawn from this range


@functools.cache
def load_splits() -> dict[str, graphs_lib.GraphSet]:
  """{split: molecules with two-way bonds}, each split from its own seed."""
  missing = np.random.default_rng(DATA_SEED).uniform(*MISSING_RATES, len(molecules.TASKS))
  return {split: graphs_lib.bidirectional(molecules.make_molecules(
              DATA_SEED * 100 + i, n, missing_rates=missing))
          for i, (split, n) in enumerate(SPLIT_SIZES.items())}


@from_configs
class OgbgSmallWorkload(GraphPropertyWorkload):
  """GNN latent 64, hidden (64,), 3 steps, 20 tasks, on 16-node molecules on average."""

  name = 'ogbg_small'
  dataset = (f'random molecule-like graphs ({SPLIT_SIZES["train"]:,} train), OGB feature '
             f'columns, {len(molecules.TASKS)} structural tasks, labels partly missing')
  num_tasks = len(molecules.TASKS)
  model_kwargs = {'latent_dim': 64, 'hidden_dims': (64,), 'num_message_passing_steps': 3}
  avg_nodes_per_graph, avg_edges_per_graph = 16, 35  # the rounded means of the training set
  num_train_examples = SPLIT_SIZES['train']
  num_validation_examples = SPLIT_SIZES['validation']
  num_test_examples = SPLIT_SIZES['test']
  eval_batch_size = 1_024

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # generated
    budget, num_shards = self.budget(global_batch_size)
    graphs = load_splits()['train' if split == 'eval_train' else split]
    return graphs_lib.split_batches(graphs, split, rng, budget, num_shards, start_step,
                                    self.split_sizes().get(split))
