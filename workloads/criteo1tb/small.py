"""criteo1tb_small: the same DLRM code (table 65,536 x 32, bottom MLP (128, 64, 32), top MLP
(256, 256, 128, 64, 1); spec §8.6) on Criteo-format synthetic click logs, written as TSV
and read through the same parsing and hashing; same loss and metric.

The logs (synthetic.py) have 13 integer counts and 26 categorical columns with Zipfian
frequencies; clicks follow a hidden logistic model with pairwise feature interactions. The
data set is fixed (seed 0), as a real one is: trials differ in initialisation and order.
Like Criteo's, the training set is large enough to be seen about once by the step hint.

Making and parsing the 4 million training lines takes about half a minute, so the parsed
arrays are kept in a cache folder ($AVGPERF_CACHE_DIR, by default ~/.cache/avgperf), named
by a hash of the generator's and the parser's source code and of the split's size: a change
to either makes a new file.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
from pathlib import Path

import numpy as np

from workloads.common import batching
from workloads.common.facts import from_configs
from workloads.criteo1tb import parsing
from workloads.criteo1tb import synthetic
from workloads.criteo1tb.workload import DlrmWorkload

DATA_SEED = 0
SPLIT_LINES = {'train': 4_096_000, 'validation': 50_000, 'test': 50_000}
SPLIT_SEEDS = {'train': 1, 'validation': 2, 'test': 3}


def cache_dir() -> Path:
  return Path(os.environ.get('AVGPERF_CACHE_DIR') or Path.home() / '.cache' / 'avgperf')


# The code that makes the data, as it was imported.
_DATA_CODE = ''.join(inspect.getsource(module) for module in (synthetic, parsing)).encode()


def _cache_file(split: str) -> Path:
  key = hashlib.sha256(_DATA_CODE)
  key.update(repr((DATA_SEED, SPLIT_SEEDS[split], SPLIT_LINES[split])).encode())
  return cache_dir() / 'criteo1tb_small' / f'{split}-{key.hexdigest()[:16]}.npz'


def make_split(split: str) -> dict[str, np.ndarray]:
  """A split's {'inputs', 'targets'}: its synthetic TSV lines, generated and parsed."""
  parts = [parsing.parse_tsv(tsv) for tsv, _ in synthetic.click_log(
      DATA_SEED, SPLIT_SEEDS[split], SPLIT_LINES[split])]
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@functools.cache
def load_split(split: str) -> dict[str, np.ndarray]:
  """`make_split(split)`, from the cache when it is there (else made and saved, if the
  cache folder is writable)."""
  path = _cache_file(split)
  if path.exists():
    with np.load(path) as saved:
      return {k: saved[k] for k in saved.files}
  arrays = make_split(split)
  try:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f'.{os.getpid()}.partial')
    with open(partial, 'wb') as f:
      np.savez(f, **arrays)
    os.replace(partial, path)
  except OSError:
    pass  # no cache: made again next time
  return arrays


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
  num_train_examples, num_validation_examples, num_test_examples = (
      SPLIT_LINES[split] for split in ('train', 'validation', 'test'))
  eval_batch_size = 10_000

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # generated
    arrays = load_split('train' if split == 'eval_train' else split)
    if split == 'train':
      return batching.train_batches(arrays, global_batch_size, rng, start_step)
    n = self.split_sizes()[split]
    return batching.eval_batches({k: v[:n] for k, v in arrays.items()}, global_batch_size)
