"""criteo1tb: DLRM-small's size (abstractly), the TSV parsing and hashing against hand
computation and TensorFlow, the pipeline end to end through model, loss and metric, and the
synthetic click logs of its small sibling."""

import math

import jax
import numpy as np
import pytest

from avgperf import spec
from workloads import registry
from workloads.criteo1tb import input_pipeline, parsing, synthetic
from workloads.criteo1tb.workload import Criteo1TbWorkload, sigmoid_binary_cross_entropy

MASK64 = (1 << 64) - 1
K0, K2 = 0xc3a5c85c97cb3127, 0x9ae16a3b2f90404f


def _count(tree) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


def test_dlrm_small_has_the_spec_parameter_count_without_allocating():
  params, state = registry.get('criteo1tb').abstract_init()
  assert _count(params) == 539_267_457 and _count(state) == 0
  assert {k: _count(v) for k, v in params.items()} == {
      'embedding_table': 536_870_912, 'Dense_0': 7_168, 'Dense_1': 131_328,
      'Dense_2': 32_896, 'Dense_3': 519_168, 'Dense_4': 1_049_600, 'Dense_5': 524_800,
      'Dense_6': 131_328, 'Dense_7': 257}
  assert params['embedding_table'].shape == (4_194_304, 128)
  assert params['Dense_3']['kernel'].shape == (506, 1024)  # 128 + 27 * 28 / 2 interactions


# --- Hashing, by hand: FarmHash's farmhashna::Hash64 for up to 16 bytes, one string at a time.

def _rotate(x, shift):
  return ((x >> shift) | (x << (64 - shift))) & MASK64


def _hash_len16(u, v, mul):
  a = ((u ^ v) * mul) & MASK64
  a ^= a >> 47
  b = ((v ^ a) * mul) & MASK64
  b ^= b >> 47
  return (b * mul) & MASK64


def _farmhash_short(s: bytes) -> int:
  n = len(s)
  fetch = lambda i, width: int.from_bytes(s[i:i + width], 'little')
  mul = (K2 + 2 * n) & MASK64
  if n >= 8:
    a = (fetch(0, 8) + K2) & MASK64
    b = fetch(n - 8, 8)
    c = (_rotate(b, 37) * mul + a) & MASK64
    d = ((_rotate(a, 25) + b) * mul) & MASK64
    return _hash_len16(c, d, mul)
  if n >= 4:
    return _hash_len16(n + (fetch(0, 4) << 3), fetch(n - 4, 4), mul)
  if n > 0:
    y = s[0] + (s[n >> 1] << 8)
    z = n + (s[n - 1] << 2)
    v = ((y * K2) ^ (z * K0)) & MASK64
    return ((v ^ (v >> 47)) * K2) & MASK64
  return K2


def test_fingerprint_equals_a_one_string_at_a_time_farmhash():
  rng = np.random.default_rng(0)
  strings = [bytes(rng.integers(1, 256, n).astype(np.uint8)) for n in range(17) for _ in range(20)]
  strings += [b'%08x%d' % (v, c) for v, c in zip(rng.integers(0, 1 << 32, 50), range(26))]
  ours = parsing.fingerprint64(np.array(strings, dtype=object).astype('S16'))
  assert [int(x) for x in ours] == [_farmhash_short(s) for s in strings]
  assert int(parsing.fingerprint64([b''])[0]) == K2  # farmhash's value of the empty string
  # TensorFlow's documented example of to_hash_bucket_fast.
  assert list(parsing.hash_bucket_fast([b'Hello', b'TensorFlow', b'2.x'], 3)) == [0, 2, 2]


def _line(label='1', counts=('',) * 13, categorical=('',) * 26) -> str:
  return '\t'.join([label, *counts, *categorical])


def test_a_line_parses_to_hand_computed_indices():
  counts = ['5', '', '-1', '0', '-3', '1000000'] + ['2'] * 7
  categorical = ['68fd1e64'] + [''] * 18 + ['8b11c4b8'] + ['-1'] * 6
  parsed = parsing.parse_tsv(_line('1', counts, categorical).encode())
  inputs = parsed['inputs'][0]
  assert parsed['targets'].tolist() == [1.0]
  expected_dense = np.log(np.float32([6, 1, 1, 1, 1, 1_000_001] + [3] * 7))
  np.testing.assert_allclose(inputs[:13], expected_dense, rtol=1e-6)
  ids = inputs[13:]
  # Fingerprint64(b'68fd1e640') = 9066014191666271819, mod 39,884,406 = 6,734,129 (TF's value).
  assert ids[0] == 6_734_129 == _farmhash_short(b'68fd1e640') % 39_884_406
  # A missing value hashes as '00000000' with its column: b'000000005' mod 3 = 0.
  assert ids[5] == _farmhash_short(b'000000005') % 3 == 0
  # b'8b11c4b819' mod 39,979,771 = 37,548,099, above 2**25: float32 keeps multiples of 4.
  assert _farmhash_short(b'8b11c4b819') % 39_979_771 == 37_548_099
  assert ids[19] == 37_548_100
  # The model's index: int32 of the float, mod the table size (spec §13.6).
  table_index = np.asarray(ids).astype(np.int32) % 4_194_304
  assert table_index[0] == 6_734_129 - 4_194_304 == 2_539_825
  assert table_index[19] == 37_548_100 - 8 * 4_194_304 == 3_993_668
  assert list(ids[20:]) == [np.float32(_farmhash_short(b'00000000%d' % c) % parsing.VOCAB_SIZES[c])
                            for c in range(20, 26)]


def test_lines_with_the_wrong_number_of_fields_are_refused():
  good = _line()
  with pytest.raises(ValueError, match='39 fields'):
    parsing.parse_tsv((good + '\n' + good.rsplit('\t', 1)[0] + '\n').encode())


def _random_lines(num: int, seed: int = 0) -> list[str]:
  """Criteo-like lines with every kind of field: empty, '-1', negative, float, long ids."""
  rng = np.random.default_rng(seed)
  lines = []
  for _ in range(num):
    counts = []
    for _ in range(13):
      r = rng.random()
      counts.append('' if r < 0.1 else '-1' if r < 0.15 else '2.5' if r < 0.17 else
                    str(rng.integers(-3, 10 ** rng.integers(1, 9))))
    categorical = []
    for c in range(26):
      r = rng.random()
      length = rng.integers(1, 15 if c >= 10 else 16)
      categorical.append('' if r < 0.1 else '-1' if r < 0.13 else
                         ''.join(rng.choice(list('0123456789abcdef'), length)))
    lines.append(_line(str(rng.integers(0, 2)), counts, categorical))
  return lines


def test_numpy_parsing_equals_the_tensorflow_pipeline():
  pytest.importorskip('tensorflow')
  from workloads.common.tf_data import import_tf  # pylint: disable=g-import-not-at-top

  lines = _random_lines(500)
  ours = parsing.parse_tsv(('\n'.join(lines) + '\n').encode(), chunk_bytes=3000)
  theirs = {k: v.numpy() for k, v in input_pipeline.parse_lines(
      import_tf().constant(lines)).items()}
  np.testing.assert_array_equal(ours['targets'], theirs['targets'])
  np.testing.assert_array_equal(ours['inputs'][:, 13:], theirs['inputs'][:, 13:])
  np.testing.assert_allclose(ours['inputs'][:, :13], theirs['inputs'][:, :13], rtol=1e-6)


def test_sigmoid_cross_entropy_is_masked_and_ignores_smoothing():
  logits = np.array([[2.0], [-1.0], [0.5], [3.0]], np.float32)
  labels = np.array([1.0, 0.0, 0.0, 1.0], np.float32)
  mask = np.array([1.0, 1.0, 1.0, 0.0], np.float32)
  p = 1 / (1 + np.exp(-logits[:, 0]))
  expected = -(labels * np.log(p) + (1 - labels) * np.log(1 - p)) * mask
  out = sigmoid_binary_cross_entropy(labels, logits, mask)
  np.testing.assert_allclose(out['per_example'], expected, rtol=1e-6)
  assert float(out['summed']) == pytest.approx(expected.sum(), rel=1e-6)
  assert float(out['n_valid_examples']) == 3
  smoothed = registry.get('criteo1tb_small').loss_fn(labels, logits, mask, label_smoothing=0.1)
  assert float(smoothed['summed']) == pytest.approx(expected.sum(), rel=1e-6)


# --- The full-size pipeline end to end, with a tiny model in place of the 2 GB table.

class _TinyCriteo(Criteo1TbWorkload):
  vocab_size = 1_024
  embed_dim = 4
  mlp_bottom_dims = (8, 4)
  mlp_top_dims = (8, 1)
  num_validation_examples = 5
  num_test_examples = 7
  eval_batch_size = 4


def _dlrm_by_hand(params, inputs: np.ndarray) -> np.ndarray:
  """DLRM's logits, one example at a time in numpy, from model inputs (B, 39)."""
  p = jax.tree.map(np.asarray, params)
  logits = []
  for row in inputs:
    x = row[:13]
    for i in range(2):
      x = np.maximum(x @ p[f'Dense_{i}']['kernel'] + p[f'Dense_{i}']['bias'], 0)
    ids = row[13:].astype(np.int32) % 1_024
    features = [x] + [p['embedding_table'][i] for i in ids]
    pairs = [features[i] @ features[j] for i in range(27) for j in range(i, 27)]
    h = np.concatenate([x, pairs])
    h = np.maximum(h @ p['Dense_2']['kernel'] + p['Dense_2']['bias'], 0)
    logits.append(h @ p['Dense_3']['kernel'] + p['Dense_3']['bias'])
  return np.array(logits)


def _bce(logits, labels):
  z = logits[:, 0]
  return np.mean(np.logaddexp(0, z) - labels * z)


def test_pipeline_end_to_end_through_model_loss_and_metric(tmp_path):
  pytest.importorskip('tensorflow')
  lines = _random_lines(40, seed=1)
  files = {'day_0_00': lines[:10], 'day_0_01': lines[10:16], 'day_1_00': lines[16:25],
           'day_23_00': lines[25:32], 'day_23_19': lines[32:37], 'day_7': lines[37:]}
  for name, content in files.items():
    (tmp_path / name).write_text('\n'.join(content) + '\n')
  w = _TinyCriteo()
  params, state = w.init_model_fn(jax.random.PRNGKey(0))
  parsed = {name: parsing.parse_tsv(('\n'.join(v) + '\n').encode()) for name, v in files.items()}

  metrics = w.eval_model(params, state, jax.random.PRNGKey(1), str(tmp_path))
  for split, name in (('validation', 'day_23_19'), ('test', 'day_23_00')):
    by_hand = _bce(_dlrm_by_hand(params, parsed[name]['inputs']), parsed[name]['targets'])
    assert metrics[f'{split}/loss'] == pytest.approx(by_hand, rel=1e-5)
  train_lines = parsing.parse_tsv(('\n'.join(lines[:25]) + '\n').encode())
  # eval_train: the first 8 training lines read (2 batches of 4), each once.
  batches = list(w.input_iterator('eval_train', None, 4, str(tmp_path)))
  seen = np.concatenate([b['inputs'] for b in batches])
  assert len(batches) == 2 and all(b['weights'].sum() == 4 for b in batches)
  matches = [np.flatnonzero(np.isclose(train_lines['inputs'], row, rtol=1e-6).all(axis=1))
             for row in seen]
  assert all(len(m) == 1 for m in matches) and len({int(m[0]) for m in matches}) == 8

  rng = jax.random.PRNGKey(2)
  batch = next(w.input_iterator('train', rng, 6, str(tmp_path)))
  logits, _ = w.model_fn(params, batch, state, spec.ForwardPassMode.TRAIN, rng, True)
  np.testing.assert_allclose(logits, _dlrm_by_hand(params, batch['inputs']), rtol=1e-5,
                             atol=1e-6)
  loss = w.loss_fn(batch['targets'], logits)
  assert float(loss['summed']) / 6 == pytest.approx(_bce(np.asarray(logits), batch['targets']),
                                                    rel=1e-5)


def test_training_order_is_files_shuffled_lines_in_order_and_resumes_exactly(tmp_path):
  pytest.importorskip('tensorflow')
  lines = _random_lines(25, seed=2)
  for name, part in (('day_0_00', lines[:10]), ('day_0_01', lines[10:16]),
                     ('day_1_00', lines[16:])):
    (tmp_path / name).write_text('\n'.join(part) + '\n')
  parsed = parsing.parse_tsv(('\n'.join(lines) + '\n').encode())['inputs']
  rng = jax.random.PRNGKey(3)
  run = list(zip(range(12), input_pipeline.train_iterator(str(tmp_path), rng, 4)))
  # 25 lines make 6 batches of 4 per epoch (the last line dropped); 12 steps span 2 epochs.
  for epoch in range(2):
    epoch_rows = np.concatenate([b['inputs'] for _, b in run[6 * epoch:6 * epoch + 6]])
    starts = [np.flatnonzero(np.isclose(parsed, row, rtol=1e-6).all(axis=1))[0]
              for row in epoch_rows]
    runs_in_order = sum(1 for a, b in zip(starts, starts[1:]) if b != a + 1)
    assert runs_in_order <= 2  # three files, each read in order
  for start in (3, 7):
    resumed = input_pipeline.train_iterator(str(tmp_path), rng, 4, start_step=start)
    for step in range(start, 12):
      np.testing.assert_array_equal(next(resumed)['inputs'], run[step][1]['inputs'])


# --- The synthetic click logs.

def test_synthetic_logs_are_deterministic_criteo_lines_whose_clicks_follow_the_model():
  (tsv, probabilities), = synthetic.click_log(0, 7, 20_000)
  (again, _), = synthetic.click_log(0, 7, 20_000)
  assert tsv == again
  lines = tsv.decode().splitlines()
  assert len(lines) == 20_000 and all(line.count('\t') == 39 for line in lines[:100])
  parsed = parsing.parse_tsv(tsv)
  clicks = parsed['targets']
  # Clicks follow the hidden probabilities: calibrated in each decile.
  order = np.argsort(probabilities)
  for part in np.array_split(order, 10):
    assert abs(clicks[part].mean() - probabilities[part].mean()) < 0.03
  assert 0.15 < clicks.mean() < 0.4 and probabilities.std() > 0.1
  # Categorical values are Zipfian: column 0's most frequent value far outnumbers its 100th.
  column = [line.split('\t')[14] for line in lines]
  _, counts = np.unique([c for c in column if c], return_counts=True)
  counts = np.sort(counts)[::-1]
  assert counts[0] > 50 * counts[99]
  # Each value's id is its hash, as the parser computes it.
  first = lines[0].split('\t')
  value = first[14].encode() or parsing.MISSING_CATEGORICAL
  assert parsed['inputs'][0, 13] == np.float32(_farmhash_short(value + b'0') % 39_884_406)
