"""criteo1tb_small: the same DLRM code (table 65,536 x 32, bottom MLP (128, 64, 32), top MLP
(256, 256, 128, 64, 1); spec §8.6) on Criteo-format synthetic click logs, written as TSV
and read through the same parsing and hashing; same loss and metric.

The logs (synthetic.py) have 13 integer counts and 26 categorical columns with Zipfian
frequencies; clicks follow a hidden logistic model with pairwise feature interactions. The
data set is fixed (seed 0), as a real one is: trials differ in initialisation and order.
"""

from __future__ import annotations

import functools

import numpy as np

from workloads.common import batching
from workloads.common.facts import from_configs
from workloads.criteo1tb import parsing
from workloads.criteo1tb import synthetic
from workloads.criteo1tb.workload import DlrmWorkload

DATA_SEED = 0
SPLIT_LINES = {'train': 400_000, 'validation': 40_000, 'test': 40_000}
SPLIT_SEEDS = {'train': 1, 'validation': 2, 'test': 3}


@functools.cache
def load_split(split: str) -> dict[str, np.ndarray]:
  """A split's {'inputs', 'targets'}: its synthetic TSV lines, generated and parsed."""
  tsv, _ = synthetic.click_log(DATA_SEED, SPLIT_SEEDS[split], SPLIT_LINES[split])
  return parsing.parse_tsv(tsv)


@from_configs
class Criteo1TbSmallWorkload(DlrmWorkload):
  """DLRM-small at 2,321,505 params on synthetic click logs."""

  name = 'criteo1tb_small'
  dataset = ('synthetic Criteo-format click logs (TSV): 13 counts, 26 Zipfian categorical '
             'columns, clicks from a hidden model with pairwise interactions')
  vocab_size = 65_536
  embed_dim = 32
  mlp_bottom_dims = (128, 64, 32)
  mlp_top_dims = (256, 256, 128, 64, 1)
  num_train_examples = SPLIT_LINES['train']
  num_validation_examples = SPLIT_LINES['validation']
  num_test_examples = SPLIT_LINES['test']
  eval_batch_size = 8_192

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # generated
    arrays = load_split('train' if split == 'eval_train' else split)
    if split == 'train':
      return batching.train_batches(arrays, global_batch_size, rng, start_step)
    n = self.split_sizes()[split]
    return batching.eval_batches({k: v[:n] for k, v in arrays.items()}, global_batch_size)
