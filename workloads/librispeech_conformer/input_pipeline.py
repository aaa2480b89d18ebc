"""LibriSpeech from its preprocessed arrays (spec §5.3), through tf.data.

`data_dir` is laid out as AlgoPerf's preprocessing leaves it (scripts/prepare_data.py
writes the same): `<subset>.csv` lists a subset's utterance ids (column 'id'), and
`<subset>/<id>_audio.npy` (int16-range samples, int64) and `<subset>/<id>_targets.npy`
(token ids, </s> last) hold each utterance.

Each example: audio right-padded with 0 to 320,000 samples ('inputs', float32) with
'input_paddings' 1.0 on the padding; token ids right-padded with 0 to 256 ('targets', int32)
with 'target_paddings' 1.0 there. Files are read and padded by TF ops (no Python, so no
lock) in parallel tf.data maps, and batches are prefetched. Training order is a per-epoch permutation of all utterances, batch k depending
only on (rng, k), as `batching.train_batches`; eval splits come in file order, the last batch
padded with 1.0 everywhere (AlgoPerf's LibriSpeech padding value) and 'weights' 0 there.
"""

from __future__ import annotations

import csv
import functools
import os
from collections.abc import Iterator, Sequence

import numpy as np

from workloads.common import batching
from workloads.common.tf_data import import_tf

AUDIO_LENGTH = 320_000
TARGET_LENGTH = 256
SUBSETS = {
    'train': ('train-clean-100', 'train-clean-360', 'train-other-500'),
    'eval_train': ('train-clean-100', 'train-clean-360', 'train-other-500'),
    'validation': ('dev-clean', 'dev-other'),
    'test': ('test-clean',),
}


@functools.lru_cache(maxsize=8)
def example_prefixes(data_dir: str, subsets: Sequence[str]) -> tuple[str, ...]:
  """'<data_dir>/<subset>/<id>' of every utterance, in the CSVs' order."""
  prefixes = []
  for subset in subsets:
    path = os.path.join(data_dir, f'{subset}.csv')
    if not os.path.exists(path):
      raise FileNotFoundError(f'{path} not found (see scripts/prepare_data.py)')
    with open(path, newline='') as f:
      prefixes += [os.path.join(data_dir, subset, row['id']) for row in csv.DictReader(f)]
  return tuple(prefixes)


def pad_example(audio: np.ndarray, targets: np.ndarray) -> dict[str, np.ndarray]:
  """One utterance as fixed-length arrays with paddings (1.0 on padding)."""
  if len(audio) > AUDIO_LENGTH or len(targets) > TARGET_LENGTH:
    raise ValueError(f'utterance of {len(audio)} samples and {len(targets)} tokens is over '
                     f'{AUDIO_LENGTH} / {TARGET_LENGTH}')
  inputs = np.zeros(AUDIO_LENGTH, np.float32)
  inputs[:len(audio)] = audio
  input_paddings = np.ones(AUDIO_LENGTH, np.float32)
  input_paddings[:len(audio)] = 0.0
  padded_targets = np.zeros(TARGET_LENGTH, np.int32)
  padded_targets[:len(targets)] = targets
  target_paddings = np.ones(TARGET_LENGTH, np.float32)
  target_paddings[:len(targets)] = 0.0
  return {'inputs': inputs, 'input_paddings': input_paddings, 'targets': padded_targets,
          'target_paddings': target_paddings}


def load_example(prefix: str) -> dict[str, np.ndarray]:
  return pad_example(np.load(f'{prefix}_audio.npy'), np.load(f'{prefix}_targets.npy'))


def read_npy(path, dtype):
  """A 1-D .npy file (format 1.0, little-endian `dtype`) read with TF ops only, so that
  parallel reads hold no Python lock: the data follow the 10-byte preamble and the header,
  whose length is the uint16 at bytes 8-9."""
  tf = import_tf()
  content = tf.io.read_file(path)
  header_length = tf.cast(tf.io.decode_raw(tf.strings.substr(content, 8, 2), tf.uint16)[0],
                          tf.int32)
  header = tf.strings.substr(content, 10, header_length)
  expected = {tf.int64: '<i8', tf.int32: '<i4'}[dtype]
  descr_matches = tf.strings.regex_full_match(header, f"(?s).*'descr': '{expected}'.*")
  check = tf.debugging.Assert(descr_matches, [path, header])
  with tf.control_dependencies([check]):
    return tf.io.decode_raw(tf.strings.substr(content, 10 + header_length, -1), dtype)


def pad_tensors(audio, targets):
  """TF version of `pad_example` (the same arrays), for the tf.data pipeline."""
  tf = import_tf()
  num_samples, num_tokens = tf.shape(audio)[0], tf.shape(targets)[0]
  check = tf.debugging.Assert(
      (num_samples <= AUDIO_LENGTH) & (num_tokens <= TARGET_LENGTH), [num_samples, num_tokens])
  with tf.control_dependencies([check]):
    inputs = tf.pad(tf.cast(audio, tf.float32), [[0, AUDIO_LENGTH - num_samples]])
  padded = lambda n, total: tf.concat([tf.zeros([n]), tf.ones([total - n])], axis=0)
  return {'inputs': tf.ensure_shape(inputs, [AUDIO_LENGTH]),
          'input_paddings': tf.ensure_shape(padded(num_samples, AUDIO_LENGTH), [AUDIO_LENGTH]),
          'targets': tf.ensure_shape(tf.pad(targets, [[0, TARGET_LENGTH - num_tokens]]),
                                     [TARGET_LENGTH]),
          'target_paddings': tf.ensure_shape(padded(num_tokens, TARGET_LENGTH), [TARGET_LENGTH])}


def _examples(prefixes: tuple[str, ...], indices):
  """A dataset of padded examples `prefixes[i]` for i in `indices`, read in parallel."""
  tf = import_tf()
  table = tf.constant(prefixes)

  def read(i):
    prefix = tf.gather(table, i)
    audio = read_npy(prefix + '_audio.npy', tf.int64)
    targets = read_npy(prefix + '_targets.npy', tf.int32)
    return pad_tensors(audio, targets)

  ds = indices if isinstance(indices, tf.data.Dataset) else (
      tf.data.Dataset.from_tensor_slices(np.asarray(indices, np.int64)))
  return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)


def train_iterator(data_dir: str, rng, batch_size: int, start_step: int = 0) -> Iterator[dict]:
  """Shuffled training batches forever (drop remainder); batch k depends only on (rng, k)."""
  tf = import_tf()
  prefixes = example_prefixes(data_dir, SUBSETS['train'])
  order = batching.train_batches({'id': np.arange(len(prefixes))}, batch_size, rng, start_step)
  ids = tf.data.Dataset.from_generator(
      lambda: (i for batch in order for i in batch['id']),
      output_signature=tf.TensorSpec([], tf.int64))
  ds = _examples(prefixes, ids).batch(batch_size, drop_remainder=True)
  return ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def eval_iterator(data_dir: str, split: str, batch_size: int,
                  num_examples: int) -> Iterator[dict]:
  """The split's first `num_examples` utterances once, in file order (eval_train: the
  training subsets unshuffled), in `ceil(num_examples / batch_size)` batches."""
  tf = import_tf()
  prefixes = example_prefixes(data_dir, SUBSETS[split])
  ds = _examples(prefixes, np.arange(min(num_examples, len(prefixes))))
  ds = ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
  num_batches = -(-num_examples // batch_size)
  template = None
  for batch in ds.as_numpy_iterator():
    template = batch = batching.pad_batch(batch, batch_size, pad_value=1.0)
    num_batches -= 1
    yield batch
  for _ in range(num_batches):  # fewer utterances than the split's size: all-padding batches
    if template is None:
      raise ValueError(f'no utterances for {split} in {data_dir}')
    yield {k: np.zeros_like(v) if k == 'weights' else np.ones_like(v)
           for k, v in template.items()}
