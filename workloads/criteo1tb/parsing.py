"""Criteo TSV lines to model inputs, in numpy (spec §8.3): no TensorFlow.

A line is a click label, 13 integer features and 26 categorical features (hex strings),
tab-separated. An empty field or '-1' is missing: numbers then read 0 and categoricals
'00000000'. Dense features become log(max(x, 0) + 1). Each categorical string gets its
column index (0-25) appended and is hashed into that column's raw vocabulary with
TensorFlow's `to_hash_bucket_fast` (FarmHash Fingerprint64 modulo the size); the model
takes the ids mod its table size. The ids travel as float32 next to the dense features,
as in AlgoPerf (spec §13.6: ids above 2**24 lose low bits there).

`input_pipeline.py` does the same with tf.data for the full dataset; tests check that both
give the same arrays. Here everything is vectorised over the bytes of a buffer: a
categorical value (at most 14 bytes, Criteo's are 8) is held as two little-endian 64-bit
words, which is all FarmHash needs for strings of up to 16 bytes.
"""

from __future__ import annotations

import numpy as np

NUM_DENSE = 13
NUM_CATEGORICAL = 26
NUM_FIELDS = 1 + NUM_DENSE + NUM_CATEGORICAL
MISSING = b'-1'
MISSING_CATEGORICAL = b'00000000'
TAB, NEWLINE = ord('\t'), ord('\n')

# The raw vocabulary size of each categorical column (Google Cloud's DLRM tutorial, as
# AlgoPerf's input pipeline uses them).
VOCAB_SIZES = (39_884_406, 39_043, 17_289, 7_420, 20_263, 3, 7_120, 1_543, 63, 38_532_951,
               2_953_546, 403_346, 10, 2_208, 11_938, 155, 4, 976, 14, 39_979_771, 25_641_295,
               39_664_984, 585_935, 12_972, 108, 36)

# FarmHash's constants.
_K0 = np.uint64(0xc3a5c85c97cb3127)
_K2 = np.uint64(0x9ae16a3b2f90404f)
_BYTE = np.uint64(0xff)
_LOW32 = np.uint64(0xffffffff)
_ONES = np.uint64(0xffffffffffffffff)
MAX_HASHED_LENGTH = 16


def _u64(x) -> np.ndarray:
  return np.asarray(x).astype(np.uint64)


def _shift_left(x: np.ndarray, bits: np.ndarray) -> np.ndarray:
  """x << bits for bits in [0, 128): 0 from 64 on (numpy, like C, wraps the shift count)."""
  return np.where(bits < 64, x << _u64(np.clip(bits, 0, 63)), np.uint64(0))


def _shift_right(x: np.ndarray, bits: np.ndarray) -> np.ndarray:
  return np.where(bits < 64, x >> _u64(np.clip(bits, 0, 63)), np.uint64(0))


def _low_bytes_mask(num_bytes: np.ndarray) -> np.ndarray:
  """A word whose lowest `num_bytes` bytes (clipped to 0-8) are 0xff, the others 0."""
  num_bytes = np.clip(num_bytes, 0, 8)
  return np.where(num_bytes == 8, _ONES, _shift_left(np.uint64(1), 8 * num_bytes) - np.uint64(1))


def _rotate_right(x: np.ndarray, shift: int) -> np.ndarray:
  return (x >> np.uint64(shift)) | (x << np.uint64(64 - shift))


def _shift_mix(x: np.ndarray) -> np.ndarray:
  return x ^ (x >> np.uint64(47))


def _hash_len16(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
  a = _shift_mix((u ^ v) * mul)
  b = _shift_mix((v ^ a) * mul)
  return b * mul


def fingerprint64_words(low: np.ndarray, high: np.ndarray, length: np.ndarray) -> np.ndarray:
  """FarmHash's Fingerprint64 (farmhashna::Hash64) of strings of at most 16 bytes, given as
  their two little-endian 64-bit words (zero past the end) and lengths; vectorised."""
  length = np.asarray(length, np.int64)
  len64 = _u64(length)
  mul = _K2 + len64 * np.uint64(2)
  with np.errstate(over='ignore'):
    # 8-16 bytes: the first 8 bytes and the last 8.
    a = low + _K2
    tail = 8 * np.maximum(length - 8, 0)
    b = _shift_right(low, tail) | _shift_left(high, 64 - tail)
    c = _rotate_right(b, 37) * mul + a
    d = (_rotate_right(a, 25) + b) * mul
    long = _hash_len16(c, d, mul)
    # 4-7 bytes: the first 4 bytes and the last 4.
    last4 = _shift_right(low, 8 * np.maximum(length - 4, 0)) & _LOW32
    medium = _hash_len16(len64 + ((low & _LOW32) << np.uint64(3)), last4, mul)
    # 1-3 bytes: the first, middle and last byte.
    middle = _shift_right(low, 8 * (length // 2)) & _BYTE
    last = _shift_right(low, 8 * np.maximum(length - 1, 0)) & _BYTE
    y = (low & _BYTE) + (middle << np.uint64(8))
    z = len64 + (last << np.uint64(2))
    short = _shift_mix(y * _K2 ^ z * _K0) * _K2
  return np.select([length >= 8, length >= 4, length > 0], [long, medium, short], _K2)


def fingerprint64(strings) -> np.ndarray:
  """Fingerprint64 of each byte string (at most 16 bytes)."""
  strings = np.asarray(strings, dtype=np.bytes_).ravel()
  length = np.char.str_len(strings)
  if length.max(initial=0) > MAX_HASHED_LENGTH:
    raise ValueError(f'strings over {MAX_HASHED_LENGTH} bytes are not supported: '
                     f'{strings[length.argmax()]!r}')
  words = np.frombuffer(strings.astype(f'S{MAX_HASHED_LENGTH}').tobytes(), '<u8')
  return fingerprint64_words(_u64(words[0::2]), _u64(words[1::2]), length)


def hash_bucket_fast(strings, num_buckets: int) -> np.ndarray:
  """`tf.strings.to_hash_bucket_fast`: Fingerprint64(s) mod num_buckets, as int64."""
  return (fingerprint64(strings) % np.uint64(num_buckets)).astype(np.int64)


def _field_bounds(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """(starts, ends), each (lines, 40), of the fields of TSV bytes that end with '\\n'."""
  is_newline = buf == NEWLINE
  separators = np.flatnonzero(is_newline | (buf == TAB))
  line_ends = np.flatnonzero(is_newline[separators])
  fields = np.diff(line_ends, prepend=-1)
  if np.any(fields != NUM_FIELDS):
    line = int(np.argmax(fields != NUM_FIELDS))
    end = separators[line_ends[line]]
    start = separators[line_ends[line - 1]] + 1 if line else 0
    raise ValueError(f'a line has {fields[line]} fields, not {NUM_FIELDS}: '
                     f'{bytes(buf[start:end])[:300]!r}')
  ends = separators.reshape(-1, NUM_FIELDS)
  starts = np.concatenate([[0], separators[:-1] + 1]).reshape(-1, NUM_FIELDS)
  return starts, ends


def _gather(buf: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
  """(M, width) uint8: the `width` bytes from each of the (flattened) `starts`."""
  padded = np.concatenate([buf, np.zeros(width, np.uint8)])
  return np.lib.stride_tricks.sliding_window_view(padded, width)[starts.ravel()]


def _is_missing(first_two: np.ndarray, lengths: np.ndarray) -> np.ndarray:
  """Empty fields, and '-1' (`first_two`: the fields' first two bytes, little-endian)."""
  return (lengths == 0) | ((lengths == 2) & (first_two == int.from_bytes(MISSING, 'little')))


def _numbers(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
  """Float32 values of numeric fields, shaped like `starts`; empty or '-1' fields read 0.

  Integers (Criteo's case) are read vectorised; anything else with numpy's float parser.
  """
  lengths = (ends - starts).ravel()
  width = max(int(lengths.max(initial=0)), 2)
  data = _gather(buf, starts, width)
  negative = data[:, 0] == ord('-')
  values = np.zeros(len(data), np.float64)
  integer = lengths > negative
  for position in range(width):
    digit = data[:, position] - np.uint8(ord('0'))
    in_number = (position < lengths) & (position >= negative)
    integer &= ~in_number | (digit < 10)
    values = np.where(in_number, values * 10 + digit, values)
  values = np.where(negative, -values, values)
  missing = _is_missing(data[:, 0] | (data[:, 1].astype(np.uint16) << 8), lengths)
  other = ~integer & ~missing
  if other.any():
    masked = np.where(np.arange(width) < lengths[other, None], data[other], 0).astype(np.uint8)
    values[other] = masked.view(f'S{width}')[:, 0].astype(np.float64)
  return np.where(missing, 0.0, values).astype(np.float32).reshape(starts.shape)


def _categorical_words(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
  """(low, high, length) of each categorical value (missing: '00000000') with its column
  index appended, flattened row by row."""
  lengths = (ends - starts).ravel()
  words = np.ascontiguousarray(_gather(buf, starts, MAX_HASHED_LENGTH)).view('<u8')
  low = words[:, 0] & _low_bytes_mask(lengths)
  high = words[:, 1] & _low_bytes_mask(lengths - 8)
  missing = _is_missing(low & np.uint64(0xffff), lengths)
  low = np.where(missing, _u64(int.from_bytes(MISSING_CATEGORICAL, 'little')), low)
  high = np.where(missing, np.uint64(0), high)
  lengths = np.where(missing, len(MISSING_CATEGORICAL), lengths)
  suffixes = [str(c).encode() for c in range(NUM_CATEGORICAL)]
  suffix = np.tile(_u64([int.from_bytes(x, 'little') for x in suffixes]), len(starts))
  suffix_length = np.tile([len(x) for x in suffixes], len(starts))
  if np.any(lengths + suffix_length > MAX_HASHED_LENGTH):
    raise ValueError(f'categorical values over {MAX_HASHED_LENGTH - 2} bytes are not supported')
  bits = 8 * lengths
  low |= _shift_left(suffix, bits)
  high |= np.where(bits < 64, _shift_right(suffix, 64 - bits), _shift_left(suffix, bits - 64))
  return low, high, lengths + suffix_length


def _parse_chunk(buf: np.ndarray) -> dict[str, np.ndarray]:
  starts, ends = _field_bounds(buf)
  numbers = _numbers(buf, starts[:, :1 + NUM_DENSE], ends[:, :1 + NUM_DENSE])
  dense = np.log(np.maximum(numbers[:, 1:], np.float32(0)) + np.float32(1))
  fingerprints = fingerprint64_words(*_categorical_words(
      buf, starts[:, 1 + NUM_DENSE:], ends[:, 1 + NUM_DENSE:])).reshape(-1, NUM_CATEGORICAL)
  ids = fingerprints % _u64(VOCAB_SIZES)
  # The ids as float32, rounded above 2**24, as in AlgoPerf: its published targets were set
  # with these ids (spec §13.6).
  return {'inputs': np.concatenate([dense, ids.astype(np.float32)], axis=1),
          'targets': numbers[:, 0]}


def parse_tsv(buffer: bytes, chunk_bytes: int = 1 << 18) -> dict[str, np.ndarray]:
  """{'inputs': (N, 39) float32, 'targets': (N,) float32} of the TSV lines in `buffer`."""
  if buffer and not buffer.endswith(b'\n'):
    buffer += b'\n'
  buf = np.frombuffer(buffer, np.uint8)
  parts, start = [], 0
  while start < len(buf):
    end = buffer.find(b'\n', min(start + chunk_bytes, len(buf)) - 1) + 1
    parts.append(_parse_chunk(buf[start:end]))
    start = end
  if not parts:
    return {'inputs': np.zeros((0, NUM_FIELDS - 1), np.float32),
            'targets': np.zeros((0,), np.float32)}
  return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
