"""finewebedu_lm's data: token files from FineWeb-Edu parquet files and from AlgoPerf's saved
datasets (written here), read back through the workload's pipeline; the byte-level
sibling's standard-library corpus and its split by file."""

import hashlib
import importlib.util
import json
from pathlib import Path

import jax
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from workloads.finewebedu_lm import input_pipeline
from workloads.finewebedu_lm import small

_SPEC = importlib.util.spec_from_file_location(
    'prepare_data', Path(__file__).resolve().parents[2] / 'scripts' / 'prepare_data.py')
prepare_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(prepare_data)

EOT = prepare_data.GPT2_END_OF_TEXT


def _byte_encoder(texts):
  """A stand-in for GPT-2's BPE (which needs its vocabulary downloaded): UTF-8 bytes."""
  return [list(t.encode()) for t in texts]


def _write_parquet(folder: Path) -> list[tuple[str, str]]:
  """Two parquet files (written out of name order) of (id, text) rows; returns the rows in
  sorted-file order."""
  folder.mkdir()
  rows = {name: [(f'<urn:uuid:{name}-{i}>', f'doc {name} {i} ' + 'x' * (i * 7 % 50))
                 for i in range(40)] for name in ('001_00000', '000_00000')}
  for name, docs in rows.items():
    table = pa.table({'text': [t for _, t in docs], 'id': [i for i, _ in docs],
                      'score': [3.0] * len(docs)})
    pq.write_table(table, folder / f'{name}.parquet', row_group_size=16)
  return rows['000_00000'] + rows['001_00000']


def test_parquet_documents_become_token_files_split_by_id_hash(tmp_path):
  docs = _write_parquet(tmp_path / 'parquet')
  out = tmp_path / 'data'
  counts = prepare_data.prepare_finewebedu_parquet(str(out), str(tmp_path / 'parquet'),
                                                   _byte_encoder, validation_fraction=0.3)
  expected = {'train': [], 'val': []}
  for doc_id, text in docs:
    position = int(hashlib.sha256(doc_id.encode()).hexdigest()[:16], 16) / 16**16
    expected['val' if position < 0.3 else 'train'] += list(text.encode()) + [EOT]
  assert 10 < expected['val'].count(EOT) < 40  # both splits hold documents
  for split, name in (('train', 'train.bin'), ('validation', 'val.bin')):
    tokens = input_pipeline.load_tokens(str(out), split)
    np.testing.assert_array_equal(tokens, expected['train' if split == 'train' else 'val'])
    assert tokens.dtype == np.dtype('<u2') and isinstance(tokens, np.memmap)
    assert (out / name).stat().st_size == 2 * len(tokens)
  assert counts == {s: len(t) for s, t in expected.items()}
  assert not list(out.glob('*.part'))


def test_algoperf_saved_datasets_keep_their_split_and_order(tmp_path):
  datasets = pytest.importorskip('datasets')
  rng = np.random.default_rng(0)
  docs = {split: [rng.integers(0, 50_257, rng.integers(1, 30)).tolist() for _ in range(25)]
          for split in ('train', 'val')}
  for split, ids in docs.items():
    datasets.Dataset.from_dict({'input_ids': ids}).save_to_disk(
        str(tmp_path / 'algoperf' / split), max_shard_size='1KB')
  assert len(json.loads((tmp_path / 'algoperf/train/state.json').read_text())[
      '_data_files']) > 1  # several shards, read in order
  meta = prepare_data.prepare_finewebedu(str(tmp_path / 'data'), None,
                                         str(tmp_path / 'algoperf'), dry_run=True)
  assert meta == {} and not (tmp_path / 'data').exists()
  counts = prepare_data.prepare_finewebedu_algoperf(str(tmp_path / 'data'),
                                                    str(tmp_path / 'algoperf'))
  for split, ids in docs.items():
    tokens = np.fromfile(tmp_path / 'data' / f'{split}.bin', '<u2')
    np.testing.assert_array_equal(tokens, np.concatenate(ids))
    assert counts[split] == len(tokens)


def test_finish_writes_meta_and_wants_the_evaluated_windows(tmp_path):
  counts = {'train': 5 * 1025 + 3, 'val': 2 * 1025}
  meta = prepare_data.finish_finewebedu(str(tmp_path), counts, 'here', min_validation_windows=2)
  assert meta['windows_of_1025'] == {'train': 5, 'val': 2}
  assert json.loads((tmp_path / 'meta.json').read_text())['tokens'] == counts
  with pytest.raises(ValueError, match='100000'):
    prepare_data.finish_finewebedu(str(tmp_path), counts, 'here')
  with pytest.raises(ValueError, match='exactly one'):
    prepare_data.prepare_finewebedu(str(tmp_path), None, None)


def test_token_ids_outside_the_vocabulary_are_refused(tmp_path):
  files = prepare_data._TokenFiles(tmp_path)  # pylint: disable=protected-access
  with pytest.raises(ValueError, match='outside'):
    files.write('train', np.array([1, 50_257]))


def _fake_library(root: Path) -> dict[str, bytes]:
  """A folder laid out like a standard library; returns the files the corpus must hold."""
  kept = {f'mod{i}.py': f'def f{i}():\n  return {i}\n'.encode() * (i + 1) for i in range(30)}
  kept['pkg/__init__.py'] = b'"""A package."""\n'
  kept['big.py'] = b'# long\n' * 400
  for path, text in kept.items():
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(text)
  for left_out in ('test/test_x.py', 'pkg/tests/t.py', 'site-packages/lib.py',
                   'idlelib/idle_test/t.py'):
    (root / left_out).parent.mkdir(parents=True, exist_ok=True)
    (root / left_out).write_bytes(b'left out\n')
  (root / 'notes.txt').write_bytes(b'not python\n')
  return kept


def test_library_corpus_splits_by_file_in_hash_order(tmp_path):
  kept = _fake_library(tmp_path)
  corpus = small.load_corpus(str(tmp_path), eval_bytes=300)
  assert sorted(sum(corpus.files.values(), ())) == sorted(kept)
  order = sorted(kept, key=lambda f: hashlib.sha256(f.encode()).hexdigest())
  small_files = [f for f in order if len(kept[f]) <= 300 // 4]
  # validation: files in hash order (none over a quarter of the quota) until 300 bytes
  size, expected = 0, []
  for f in small_files:
    if size >= 300:
      break
    expected.append(f)
    size += len(kept[f]) + 1
  assert list(corpus.files['validation']) == expected
  assert 'big.py' in corpus.files['train']
  for split, files in corpus.files.items():
    stream = b''.join(kept[f] + b'\0' for f in files)
    np.testing.assert_array_equal(corpus.tokens[split], np.frombuffer(stream, np.uint8))


def test_standard_library_workload_has_its_windows():
  w = small.FineWebEduLmSmallWorkload()
  corpus = w.corpus()
  assert not set(corpus.files['validation']) & set(corpus.files['test'])
  assert not any('/test/' in f'/{f}' for f in sum(corpus.files.values(), ()))
  for split in ('validation', 'test'):
    rows = input_pipeline.windows(corpus.tokens[split], 128)
    assert len(rows) >= small.EVAL_SPLIT_WINDOWS
    batches = list(w.input_iterator(split, jax.random.PRNGKey(0), 100))
    inputs = np.concatenate([b['inputs'] for b in batches])[:w.split_sizes()[split]]
    np.testing.assert_array_equal(inputs, rows[:1024:4, :-1])  # every 4th window
  assert w.num_train_examples > 50_000
  batch = next(w.input_iterator('train', jax.random.PRNGKey(0), 8))
  assert batch['inputs'].shape == (8, 128) and batch['inputs'].max() < 256
  np.testing.assert_array_equal(batch['inputs'][:, 1:], batch['targets'][:, :-1])
