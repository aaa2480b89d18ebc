"""librispeech_conformer's data end to end, on a corpus the test writes: FLAC files and
transcripts -> scripts/prepare_data.py (tokenizer trained here, length filter, arrays, CSVs)
-> the tf.data pipeline -> model_fn (a tiny Conformer config), the CTC loss and the WER."""

import csv
import importlib.util
import shutil
import tarfile
from pathlib import Path

import jax
import numpy as np
import pytest

from avgperf import spec
from workloads.librispeech_conformer import frontend, input_pipeline, tokenizer as tok
from workloads.librispeech_conformer.model import ConformerConfig
from workloads.librispeech_conformer.workload import LibriSpeechConformerWorkload

soundfile = pytest.importorskip('soundfile')
pytest.importorskip('sentencepiece')
pytest.importorskip('tensorflow')

_SPEC = importlib.util.spec_from_file_location(
    'prepare_data', Path(__file__).resolve().parents[2] / 'scripts' / 'prepare_data.py')
prepare_data = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(prepare_data)

WORDS = ('OPEN SOURCE ROCKS THE QUICK BROWN FOX JUMPS OVER LAZY DOG SPEECH MODEL TRAINS WELL '
         "ON DATA IT WRITES ITSELF AND DOESN'T NEED A DOWNLOAD").split()
SUBSETS = {'train-clean-100': 6, 'train-clean-360': 1, 'train-other-500': 1, 'dev-clean': 2,
           'dev-other': 2, 'test-clean': 1}  # utterances per speaker (two speakers)


def _write_subset(root: Path, subset: str, rng, num: int, long_audio: bool = False) -> None:
  """LibriSpeech's layout: <subset>/<speaker>/<chapter>/<id>.flac and a .trans.txt each."""
  for speaker in (19, 26):
    chapter_dir = root / subset / str(speaker) / '198'
    chapter_dir.mkdir(parents=True)
    lines = []
    for i in range(num):
      utterance = f'{speaker}-198-{i:04d}'
      text = ' '.join(rng.choice(WORDS, rng.integers(2, 6)))
      samples = rng.integers(8_000, 30_000)
      if long_audio and i == 0:
        samples = 320_001  # over 20 s: dropped
      if i == 1 and speaker == 26:
        text = ' '.join(['WORD'] * 60)  # over 256 characters: dropped
      audio = rng.normal(0, 2_000, samples).clip(-32_768, 32_767).astype(np.int16)
      soundfile.write(chapter_dir / f'{utterance}.flac', audio, 16_000, subtype='PCM_16')
      lines.append(f'{utterance} {text}\n')
    (chapter_dir / f'{speaker}-198.trans.txt').write_text(''.join(lines))


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
  root = tmp_path_factory.mktemp('librispeech')
  rng = np.random.default_rng(0)
  for subset, num in SUBSETS.items():
    _write_subset(root / 'raw', subset, rng, num, long_audio=subset == 'train-clean-100')
  # One subset as OpenSLR ships it: LibriSpeech/test-clean/... inside test-clean.tar.gz.
  with tarfile.open(root / 'raw' / 'test-clean.tar.gz', 'w:gz') as tar:
    tar.add(root / 'raw' / 'test-clean', arcname='LibriSpeech/test-clean')
  shutil.rmtree(root / 'raw' / 'test-clean')
  found = prepare_data.prepare_librispeech(str(root / 'data'), str(root / 'raw'), tuple(SUBSETS),
                                           vocab_size=40, check_counts=False, workers=2)
  return root, found


def test_prepare_filters_tokenises_and_writes_algoperf_layout(prepared):
  root, found = prepared
  data = root / 'data'
  assert (data / 'raw' / 'LibriSpeech' / 'test-clean').is_dir()  # extracted from its tarball
  assert found == {'train-clean-100': (12, 9), 'train-clean-360': (2, 2),
                   'train-other-500': (2, 2), 'dev-clean': (4, 3), 'dev-other': (4, 3),
                   'test-clean': (2, 2)}
  with open(data / 'train-clean-100.csv', newline='') as f:
    rows = list(csv.reader(f))
  assert rows[0] == ['', 'id'] and rows[1] == ['0', '19-198-0001']  # 0000 was too long
  audio = np.load(data / 'train-clean-100' / '19-198-0001_audio.npy')
  flac, _ = soundfile.read(root / 'raw' / 'train-clean-100' / '19' / '198' / '19-198-0001.flac',
                           dtype='int16')
  assert audio.dtype == np.int64
  np.testing.assert_array_equal(audio, flac)
  tokenizer = tok.SentencePieceTokenizer(str(data / tok.MODEL_FILE))
  assert tokenizer.vocab_size == 40
  targets = np.load(data / 'train-clean-100' / '19-198-0001_targets.npy')
  assert targets[-1] == 2 and 0 not in targets  # </s> last; no <unk> (the CTC blank)
  transcript = (root / 'raw' / 'train-clean-100' / '19' / '198' / '19-198.trans.txt').read_text()
  assert tokenizer.decode(targets) == transcript.splitlines()[1].split(' ', 1)[1]


class _TinyConformer(LibriSpeechConformerWorkload):
  """The full-size workload's pipeline and eval with a tiny model and the test's splits."""

  config = ConformerConfig(vocab_size=40, encoder_dim=16, num_attention_heads=2,
                           num_encoder_layers=1)
  num_train_examples = 13
  num_validation_examples = 6
  num_test_examples = 2
  eval_batch_size = 4


def test_pipeline_model_loss_and_wer_end_to_end(prepared):
  root, _ = prepared
  data_dir = str(root / 'data')
  workload = _TinyConformer()
  rng = jax.random.PRNGKey(0)
  train = workload.input_iterator('train', rng, 4, data_dir)
  batches = [next(train) for _ in range(4)]  # spans an epoch boundary (13 utterances)
  batch = batches[0]
  assert batch['inputs'].shape == (4, 320_000) and batch['targets'].shape == (4, 256)
  lengths = (batch['input_paddings'] == 0).sum(1)
  assert np.all(batch['inputs'][np.arange(320_000)[None] >= lengths[:, None]] == 0)
  assert np.all((batch['target_paddings'] == 0) == (batch['targets'] != 0))
  resumed = next(workload.input_iterator('train', rng, 4, data_dir, start_step=3))
  np.testing.assert_array_equal(resumed['targets'], batches[3]['targets'])

  params, state = workload.init_model_fn(jax.random.PRNGKey(1))
  logits, new_state = workload.model_fn(params, batch, state, spec.ForwardPassMode.TRAIN,
                                        jax.random.PRNGKey(2), update_batch_norm=True)
  assert logits[0].shape == (4, 500, 40)
  frame_paddings = frontend.frame_paddings(batch['input_paddings'])
  np.testing.assert_array_equal(logits[1], frame_paddings[:, ::4])  # time / 4, every 4th frame
  assert not jax.tree.all(jax.tree.map(np.array_equal, new_state, state))
  loss = workload.loss_fn(batch['targets'], logits)
  assert np.isfinite(loss['summed']) and loss['n_valid_examples'] == (batch['targets'] != 0).sum()

  validation = list(workload.input_iterator('validation', rng, 4, data_dir))
  assert len(validation) == 2 and validation[1]['weights'].tolist() == [1, 1, 0, 0]
  # The TF reader against numpy's: dev-clean's utterances, then dev-other's, in CSV order.
  prefixes = input_pipeline.example_prefixes(data_dir, ('dev-clean', 'dev-other'))
  assert prefixes[3].endswith('dev-other/19-198-0000')
  for i, prefix in enumerate(prefixes):
    for key, value in input_pipeline.load_example(prefix).items():
      np.testing.assert_array_equal(validation[i // 4][key][i % 4], value)
  assert np.all(validation[1]['input_paddings'][2:] == 1.0)  # padded rows are all padding
  metrics = workload.eval_model(params, state, rng, data_dir)
  assert metrics['validation/num_examples'] == 6 and metrics['test/num_examples'] == 2
  assert np.isfinite(metrics['validation/ctc_loss']) and metrics['validation/wer'] >= 0.5
