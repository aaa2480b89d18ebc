"""Token streams cut into fixed windows (spec §10.3), read from memory-mapped files.

A split is one flat array of token ids: the documents of the split, each followed by an
end-of-text token, concatenated. On disk it is a raw little-endian `uint16` file
(`<data_dir>/train.bin`, `<data_dir>/val.bin`, written by `scripts/prepare_data.py`), mapped
into memory, never decoded: window i is tokens[i * (L + 1) : (i + 1) * (L + 1)], so the
windows are consecutive and do not overlap (the tail shorter than a window is dropped);
inputs are its first L tokens and targets its last L.

Training draws windows by random access: each epoch a fresh permutation of all windows,
batch k a function of (rng, k) only, so a resumed trial reads exactly the batches it would
have read (`batching.train_batches`). (AlgoPerf shuffles the in-order stream through a
buffer of 1,000 windows; a permutation mixes the whole split, and needs no warm-up.) Train
batches carry no weights: every token counts. Eval splits are read in order, each window
once; the last batch is padded with windows of id -1 and 'weights' (one per token) 0 there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from workloads.common import batching

SEQUENCE_LENGTH = 1024
PAD_ID = -1
TOKEN_DTYPE = np.dtype('<u2')  # GPT-2's 50,257 ids fit 16 bits
SPLIT_FILES = {'train': 'train.bin', 'eval_train': 'train.bin', 'validation': 'val.bin'}


def load_tokens(data_dir: str, split: str) -> np.ndarray:
  """The split's token stream, memory-mapped read-only."""
  path = os.path.join(data_dir, SPLIT_FILES[split])
  if not os.path.isfile(path):
    raise FileNotFoundError(f'{path} not found (see scripts/prepare_data.py finewebedu)')
  return np.memmap(path, dtype=TOKEN_DTYPE, mode='r')


def num_windows(tokens: np.ndarray, seq_len: int = SEQUENCE_LENGTH) -> int:
  return len(tokens) // (seq_len + 1)


def windows(tokens: np.ndarray, seq_len: int = SEQUENCE_LENGTH) -> np.ndarray:
  """(num_windows, seq_len + 1): a view of the stream, nothing copied."""
  n = num_windows(tokens, seq_len)
  return tokens[:n * (seq_len + 1)].reshape(n, seq_len + 1)


def inputs_and_targets(rows: np.ndarray) -> dict[str, np.ndarray]:
  """Windows of L + 1 tokens -> int32 'inputs' (tokens 0..L-1) and 'targets' (1..L)."""
  rows = np.asarray(rows, np.int32)
  return {'inputs': rows[:, :-1], 'targets': rows[:, 1:]}


def train_iterator(tokens: np.ndarray, batch_size: int, rng, start_step: int = 0,
                   seq_len: int = SEQUENCE_LENGTH) -> Iterator[dict[str, np.ndarray]]:
  """Shuffled batches of windows forever, resuming exactly at `start_step`."""
  rows = windows(tokens, seq_len)
  if not len(rows):
    raise ValueError(f'{len(tokens)} tokens make no window of {seq_len + 1}')
  for batch in batching.train_batches({'rows': rows}, batch_size, rng, start_step):
    yield inputs_and_targets(batch['rows'])


def eval_iterator(tokens: np.ndarray, batch_size: int, num_examples: int,
                  seq_len: int = SEQUENCE_LENGTH) -> Iterator[dict[str, np.ndarray]]:
  """The first `num_examples` windows in order, the last batch padded (ids -1, weights 0)."""
  rows = windows(tokens, seq_len)
  if len(rows) < num_examples:
    raise ValueError(f'the split has {len(rows)} windows of {seq_len + 1} tokens; '
                     f'{num_examples} are evaluated')
  for start in range(0, num_examples, batch_size):
    batch = inputs_and_targets(rows[start:min(start + batch_size, num_examples)])
    batch['weights'] = np.ones(batch['targets'].shape, np.float32)
    yield batching.pad_batch(batch, batch_size, pad_value=PAD_ID)
