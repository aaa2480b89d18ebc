"""Criteo 1TB from its TSV day files with tf.data (spec §8.3).

The days come split into files of 5,000,000 lines named `day_<d>_<NN>`. Days 0-22 are the
training set; day 23's files 00-18 are `test` and 19-35 `validation`.

Parsing is `parsing.py`'s, written with TensorFlow ops (`tf.io.decode_csv`,
`tf.strings.to_hash_bucket_fast`) so that it runs in tf.data's threads; lines are batched
before they are parsed.

Training order: as in AlgoPerf, only the order of the files is shuffled, and lines keep
their order within a file (a line-level shuffle of 4.2 billion lines is out of reach). Here
the file order is drawn from the trial's key, a fresh one each epoch, so a trial's data are
reproducible and resume exactly at any step. (AlgoPerf adds an unseeded shuffle of the file
list, so its order is not reproducible; nothing depends on that.) An epoch ends with its
last full batch.

Eval: every split is read with several files in flight, since the order of an eval's lines
does not change its sums. eval_train is the first `num_eval_train_examples` lines of the
training files taken in one fixed order, the same at every eval of every trial (AlgoPerf
draws its files from the trial's key at the first eval).
"""

from __future__ import annotations

import functools
import glob
import os
import re
from collections.abc import Iterator

import numpy as np

from workloads.common import batching
from workloads.common import tf_data
from workloads.common.tf_data import import_tf
from workloads.criteo1tb.parsing import (MISSING, MISSING_CATEGORICAL, NUM_CATEGORICAL,
                                         NUM_DENSE, VOCAB_SIZES)

TRAIN_DAYS = range(23)
EVAL_DAY = 23
NUM_EVAL_DAY_FILES = 36
NUM_TEST_FILES = NUM_EVAL_DAY_FILES // 2 + 1  # files 00-18 are test, 19-35 validation
EVAL_TRAIN_FILE_SEED = 0
EVAL_FILES_IN_FLIGHT = 8
EVAL_LINES_PER_READ = 4096
_FILE_NAME = re.compile(r'day_(\d+)_(\d+)$')


def split_files(data_dir: str, split: str) -> list[str]:
  """A split's files: the training days' files sorted by (day, part), or day 23's files."""
  if split in ('train', 'eval_train'):
    found = [(tuple(map(int, m.groups())), path)
             for path in glob.glob(os.path.join(data_dir, 'day_*_*'))
             if (m := _FILE_NAME.search(os.path.basename(path)))
             and int(m.group(1)) in TRAIN_DAYS]
    files = [path for _, path in sorted(found)]
  else:
    parts = (range(NUM_TEST_FILES) if split == 'test'
             else range(NUM_TEST_FILES, NUM_EVAL_DAY_FILES))
    files = [os.path.join(data_dir, f'day_{EVAL_DAY}_{part:02d}') for part in parts]
    files = [path for path in files if os.path.exists(path)]
  if not files:
    raise FileNotFoundError(f'no {split} files (day_<d>_<NN>) in {data_dir}')
  return files


def parse_lines(lines):
  """A batch of TSV lines (string tensor) -> {'inputs': (B, 39), 'targets': (B,)} float32."""
  tf = import_tf()
  defaults = ([[0.0]] * (1 + NUM_DENSE)
              + [[MISSING_CATEGORICAL.decode()]] * NUM_CATEGORICAL)
  fields = tf.io.decode_csv(lines, defaults, field_delim='\t', na_value=MISSING.decode())
  dense = [tf.math.log(tf.nn.relu(f) + 1.0) for f in fields[1:1 + NUM_DENSE]]
  ids = [tf.strings.to_hash_bucket_fast(f + str(column), vocab)
         for column, (f, vocab) in enumerate(zip(fields[1 + NUM_DENSE:], VOCAB_SIZES))]
  # The ids travel as float32 (rounded above 2**24), as in AlgoPerf, whose published targets
  # were set with them (spec §13.6).
  inputs = tf.concat([tf.stack(dense, axis=1), tf.cast(tf.stack(ids, axis=1), tf.float32)],
                     axis=1)
  return {'inputs': inputs, 'targets': fields[0]}


@functools.cache
def line_count(path: str) -> int:
  """The number of lines of a file (read through once; only a resumed trial needs it)."""
  count, last = 0, b'\n'
  with open(path, 'rb') as f:
    while chunk := f.read(1 << 24):
      count += chunk.count(b'\n')
      last = chunk[-1:]
  return count + (last != b'\n')


def _file_order(files: list[str], seed: np.random.SeedSequence, epoch: int) -> list[str]:
  child = np.random.SeedSequence(seed.entropy, spawn_key=(epoch,))
  return [files[i] for i in np.random.default_rng(child).permutation(len(files))]


def _epoch_batches(files: list[str], batch_size: int, skip_lines: int) -> Iterator[dict]:
  """Parsed batches of the lines of `files` read in order, after the first `skip_lines`."""
  tf = import_tf()
  while skip_lines and files and line_count(files[0]) <= skip_lines:
    skip_lines -= line_count(files[0])
    files = files[1:]
  if not files:
    return
  ds = tf.data.TextLineDataset(files, buffer_size=16 << 20).skip(skip_lines)
  ds = ds.batch(batch_size, drop_remainder=True)
  ds = ds.map(parse_lines, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
  yield from ds.as_numpy_iterator()


def train_iterator(data_dir: str, rng, batch_size: int, start_step: int = 0) -> Iterator[dict]:
  """Training batches forever; batch k depends only on (rng, k)."""
  files = split_files(data_dir, 'train')
  seed = batching.numpy_seed(rng)
  epoch, skip_lines = 0, 0
  if start_step:
    batches_per_epoch = sum(map(line_count, files)) // batch_size
    epoch, step_in_epoch = divmod(start_step, batches_per_epoch)
    skip_lines = step_in_epoch * batch_size
  while True:
    yield from _epoch_batches(_file_order(files, seed, epoch), batch_size, skip_lines)
    epoch, skip_lines = epoch + 1, 0


def eval_iterator(data_dir: str, split: str, batch_size: int,
                  num_examples: int) -> Iterator[dict]:
  """The first `num_examples` lines of `split`, each once, the last batch padded (weight 0)."""
  tf = import_tf()
  files = split_files(data_dir, split)
  if split == 'eval_train':
    files = _file_order(files, np.random.SeedSequence(EVAL_TRAIN_FILE_SEED), 0)
  ds = tf.data.Dataset.from_tensor_slices(files).interleave(
      lambda path: tf.data.TextLineDataset(path, buffer_size=4 << 20),
      cycle_length=min(len(files), EVAL_FILES_IN_FLIGHT), block_length=EVAL_LINES_PER_READ,
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  ds = ds.take(num_examples).batch(batch_size)
  ds = ds.map(parse_lines, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
  return tf_data.padded_eval_batches(ds, batch_size, -(-num_examples // batch_size))
