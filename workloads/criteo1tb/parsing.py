"""Criteo TSV lines to model inputs, in numpy (spec §8.3): no TensorFlow.

A line is a click label, 13 integer features and 26 categorical features (hex strings),
tab-separated. An empty field or '-1' is missing: integers then read 0 and categoricals
'00000000'. Dense features become log(max(x, 0) + 1). Each categorical string gets its
column index (0-25) appended and is hashed into that column's raw vocabulary with
TensorFlow's `to_hash_bucket_fast` (FarmHash Fingerprint64 modulo the size); the model
takes the ids mod its table size. The ids travel as float32 next to the dense features,
as in AlgoPerf (spec §13.6: ids above 2**24 lose low bits there).

`input_pipeline.py` does the same with tf.data for the full dataset; tests check that both
give the same arrays.
"""

from __future__ import annotations

import numpy as np

NUM_DENSE = 13
NUM_CATEGORICAL = 26
NUM_FIELDS = 1 + NUM_DENSE + NUM_CATEGORICAL
MISSING = b'-1'
MISSING_CATEGORICAL = b'00000000'

# The raw vocabulary size of each categorical column (Google Cloud's DLRM tutorial, as
# AlgoPerf's input pipeline uses them).
VOCAB_SIZES = (39_884_406, 39_043, 17_289, 7_420, 20_263, 3, 7_120, 1_543, 63, 38_532_951,
               2_953_546, 403_346, 10, 2_208, 11_938, 155, 4, 976, 14, 39_979_771, 25_641_295,
               39_664_984, 585_935, 12_972, 108, 36)

# FarmHash's constants.
_K0 = np.uint64(0xc3a5c85c97cb3127)
_K2 = np.uint64(0x9ae16a3b2f90404f)
_MAX_HASHED_LENGTH = 16


def _rotate_right(x: np.ndarray, shift: int) -> np.ndarray:
  return (x >> np.uint64(shift)) | (x << np.uint64(64 - shift))


def _shift_mix(x: np.ndarray) -> np.ndarray:
  return x ^ (x >> np.uint64(47))


def _hash_len16(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
  a = _shift_mix((u ^ v) * mul)
  b = _shift_mix((v ^ a) * mul)
  return b * mul


def _fetch(data: np.ndarray, offset: np.ndarray, width: int) -> np.ndarray:
  """The little-endian unsigned int of `width` bytes at per-row `offset` of `data`."""
  index = np.clip(offset[:, None] + np.arange(width), 0, data.shape[1] - 1)
  chunk = np.ascontiguousarray(np.take_along_axis(data, index, axis=1))
  return chunk.view(f'<u{width}')[:, 0].astype(np.uint64)


def fingerprint64(strings: np.ndarray) -> np.ndarray:
  """FarmHash's Fingerprint64 (farmhashna::Hash64) of each byte string, for strings of at
  most 16 bytes (Criteo's categorical values are 8 hex digits), vectorised."""
  strings = np.asarray(strings, dtype=np.bytes_).ravel()
  if strings.dtype.itemsize > _MAX_HASHED_LENGTH:
    lengths = np.char.str_len(strings)
    if lengths.max(initial=0) > _MAX_HASHED_LENGTH:
      raise ValueError(f'categorical values over {_MAX_HASHED_LENGTH} bytes are not '
                       f'supported: {strings[lengths.argmax()]!r}')
  fixed = strings.astype(f'S{_MAX_HASHED_LENGTH}')
  data = np.frombuffer(fixed.tobytes(), np.uint8).reshape(len(fixed), _MAX_HASHED_LENGTH)
  length = np.char.str_len(fixed).astype(np.int64)
  len64 = length.astype(np.uint64)
  mul = _K2 + len64 * np.uint64(2)
  with np.errstate(over='ignore'):
    # 8-16 bytes.
    a = _fetch(data, np.zeros_like(length), 8) + _K2
    b = _fetch(data, length - 8, 8)
    c = _rotate_right(b, 37) * mul + a
    d = (_rotate_right(a, 25) + b) * mul
    long = _hash_len16(c, d, mul)
    # 4-7 bytes.
    a = _fetch(data, np.zeros_like(length), 4)
    medium = _hash_len16(len64 + (a << np.uint64(3)), _fetch(data, length - 4, 4), mul)
    # 1-3 bytes.
    first = data[:, 0].astype(np.uint64)
    middle = np.take_along_axis(data, (length // 2)[:, None], axis=1)[:, 0].astype(np.uint64)
    last = np.take_along_axis(data, np.maximum(length - 1, 0)[:, None], axis=1)[:, 0]
    y = first + (middle << np.uint64(8))
    z = len64 + (last.astype(np.uint64) << np.uint64(2))
    short = _shift_mix(y * _K2 ^ z * _K0) * _K2
  return np.select([length >= 8, length >= 4, length > 0], [long, medium, short], _K2)


def hash_bucket_fast(strings: np.ndarray, num_buckets: int) -> np.ndarray:
  """`tf.strings.to_hash_bucket_fast`: Fingerprint64(s) mod num_buckets, as int64."""
  return (fingerprint64(strings) % np.uint64(num_buckets)).astype(np.int64)


def split_fields(buffer: bytes) -> np.ndarray:
  """(lines, 40) byte strings of a TSV buffer (lines end with '\\n'; the last may not)."""
  text = buffer[:-1] if buffer.endswith(b'\n') else buffer
  if not text:
    return np.zeros((0, NUM_FIELDS), 'S1')
  lines = text.split(b'\n')
  fields = text.replace(b'\n', b'\t').split(b'\t')
  if len(fields) != len(lines) * NUM_FIELDS or any(
      line.count(b'\t') != NUM_FIELDS - 1 for line in lines):
    counts = [line.count(b'\t') + 1 for line in lines]
    bad = next(i for i, n in enumerate(counts) if n != NUM_FIELDS)
    raise ValueError(f'line {bad} has {counts[bad]} fields, not {NUM_FIELDS}')
  return np.array(fields, dtype=np.bytes_).reshape(len(lines), NUM_FIELDS)


def _numbers(fields: np.ndarray) -> np.ndarray:
  """Float32 values of numeric fields; empty or '-1' fields read 0."""
  missing = (fields == b'') | (fields == MISSING)
  return np.where(missing, b'0', fields).astype(np.float64).astype(np.float32)


def parse_fields(fields: np.ndarray) -> dict[str, np.ndarray]:
  """{'inputs': (N, 39) float32, 'targets': (N,) float32} of (N, 40) TSV fields."""
  targets = _numbers(fields[:, 0])
  counts = _numbers(fields[:, 1:1 + NUM_DENSE])
  dense = np.log(np.maximum(counts, np.float32(0)) + np.float32(1))
  categorical = fields[:, 1 + NUM_DENSE:]
  missing = (categorical == b'') | (categorical == MISSING)
  categorical = np.where(missing, MISSING_CATEGORICAL, categorical)
  ids = np.empty(categorical.shape, np.float32)
  for column, vocab in enumerate(VOCAB_SIZES):
    keyed = np.char.add(categorical[:, column], str(column).encode())
    ids[:, column] = hash_bucket_fast(keyed, vocab).astype(np.float32)
  return {'inputs': np.concatenate([dense, ids], axis=1), 'targets': targets}


def parse_tsv(buffer: bytes) -> dict[str, np.ndarray]:
  """Model inputs of the Criteo TSV lines in `buffer` (see the module docstring)."""
  return parse_fields(split_fields(buffer))
