"""Prepares the datasets of the full-size workloads from files the user already has.

Nothing here downloads ImageNet-2012 or fastMRI: both need an account and a licence
agreement, so they come as files you fetched yourself. (ImageNet-v2, the ImageNet test
split, is public: TFDS downloads it, which needs network access.) The small workloads need
no preparation.

ImageNet (imagenet_resnet, imagenet_vit), via TFDS's manual-download path:

    # ~/imagenet_raw holds ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar
    python scripts/prepare_data.py imagenet --data_dir=~/data --manual_dir=~/imagenet_raw

  builds `imagenet2012:5.1.0` (1,281,167 train, 50,000 validation images; ~155 GB) and
  `imagenet_v2/matched-frequency:3.0.0` (10,000 test images) under --data_dir. Then run with
  `avgperf run --workload=imagenet_resnet --data_dir=~/data ...`.

fastMRI knee single-coil (fastmri), from fastMRI's tarballs:

    # ~/fastmri_raw holds knee_singlecoil_train.tar.xz and knee_singlecoil_val.tar.xz
    python scripts/prepare_data.py fastmri --data_dir=~/data/fastmri --tar_dir=~/fastmri_raw

  extracts the h5 volumes into `knee_singlecoil_train/` (973 volumes, 34,742 slices) and
  `knee_singlecoil_val/` (199 volumes: the first 100 by name are `validation`, 3,554 slices;
  the other 99 are `test`, 3,581 slices), then checks every file (datasets `kspace` and
  `reconstruction_esc`, attribute `max`) and the counts. `--check_only` only checks.

ogbg-molpcba (ogbg), public: TFDS downloads it from OGB (network access needed):

    python scripts/prepare_data.py ogbg --data_dir=~/data

  builds `ogbg_molpcba:0.1.3` (350,343 train, 43,793 validation, 43,793 test molecules) under
  --data_dir and checks the split sizes. Then run with `--data_dir=~/data`.

LibriSpeech (librispeech_conformer), from OpenSLR's LibriSpeech (SLR12) archives:

    # ~/librispeech_raw holds train-clean-100.tar.gz, ..., test-clean.tar.gz (or the
    # extracted LibriSpeech/<subset>/ folders)
    python scripts/prepare_data.py librispeech --data_dir=~/data/librispeech \
        --raw_dir=~/librispeech_raw

  trains the SentencePiece tokenizer (unigram, 1,024 pieces, character coverage 1.0, on the
  train-clean-100 transcripts) into `spm_model.vocab`, then writes per utterance
  `<subset>/<id>_audio.npy` (int16-range samples as int64) and `<subset>/<id>_targets.npy`
  (token ids with </s>), and one `<subset>.csv` of ids per subset, skipping transcripts over
  256 characters and audio over 320,000 samples (20 s): AlgoPerf's layout, so data prepared
  by AlgoPerf's script works as well. Archives are extracted into `<data_dir>/raw/` (about
  60 GB, not needed afterwards). Needs `sentencepiece` and `soundfile` (FLAC).

Criteo 1TB click logs (criteo1tb), from Criteo's day files:

    # ~/criteo_raw holds day_0 ... day_23 (or day_0.gz ... day_23.gz)
    python scripts/prepare_data.py criteo1tb --data_dir=~/data/criteo1tb --raw_dir=~/criteo_raw

  splits each day into files of 5,000,000 lines, `day_<d>_00`, `day_<d>_01`, ... (as
  `split -a 2 -d -l 5000000` does), then checks that day 23 has 36 files, 95,000,000 test
  lines (files 00-18) and 83,274,637 validation lines (19-35). `--check_only` only checks.

FineWeb-Edu (finewebedu_lm), as GPT-2 tokens in flat memory-mapped files, either from the
`sample-10BT` parquet files of HuggingFaceFW/fineweb-edu:

    # ~/fineweb-edu/sample/10BT holds 000_00000.parquet ... (columns `id`, `text`)
    python scripts/prepare_data.py finewebedu --data_dir=~/data/finewebedu \
        --parquet_dir=~/fineweb-edu/sample/10BT

  tokenises each document with GPT-2's BPE (`tiktoken`, encoding 'gpt2', which fetches its
  vocabulary once), appends the end-of-text token 50256, and writes the concatenation as
  little-endian uint16 to `train.bin` and `val.bin`. A document goes to `val.bin` when the
  SHA-256 of its `id` falls in the lowest 1.25% (about 125 M tokens: the 100,000 evaluated
  windows need 102.5 M), so the split does not depend on file order; files are read sorted.

or from AlgoPerf's prepared folder (Hugging Face `datasets` saved with `save_to_disk`, column
`input_ids`, already tokenised and split):

    python scripts/prepare_data.py finewebedu --data_dir=~/data/finewebedu \
        --algoperf_dir=~/algoperf_data/finewebedu   # holds train/ and val/

  which keeps AlgoPerf's split and order. Either way `meta.json` records the token and
  window counts, and the command checks that `val.bin` has the 100,000 windows evaluated.

Every command takes `--dry_run` to print what it would do.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import hashlib
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

IMAGENET = 'imagenet2012:5.1.0'
IMAGENET_V2 = 'imagenet_v2/matched-frequency:3.0.0'
OGBG = 'ogbg_molpcba:0.1.3'
OGBG_SPLITS = {'train': 350_343, 'validation': 43_793, 'test': 43_793}
FASTMRI_TARBALLS = {'knee_singlecoil_train': 'knee_singlecoil_train.tar.xz',
                    'knee_singlecoil_val': 'knee_singlecoil_val.tar.xz'}
FASTMRI_COUNTS = {'knee_singlecoil_train': (973, 34_742), 'knee_singlecoil_val': (199, 7_135)}
GPT2_END_OF_TEXT = 50_256
FINEWEBEDU_FILES = {'train': 'train.bin', 'val': 'val.bin'}
FINEWEBEDU_VALIDATION_FRACTION = 0.0125


def prepare_imagenet(data_dir: str, manual_dir: str, dry_run: bool = False) -> None:
  """Builds ImageNet-2012 from the manual tarballs, and ImageNet-v2 (downloaded by TFDS)."""
  manual = Path(manual_dir).expanduser()
  missing = [f for f in ('ILSVRC2012_img_train.tar', 'ILSVRC2012_img_val.tar')
             if not (manual / f).is_file()]
  if missing:
    raise FileNotFoundError(f'{manual} lacks {", ".join(missing)} (from image-net.org)')
  print(f'building {IMAGENET} from {manual} and {IMAGENET_V2} (download) in {data_dir}')
  if dry_run:
    return
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from workloads.common.tf_data import import_tf  # pylint: disable=g-import-not-at-top

  import_tf()
  config = tfds.download.DownloadConfig(manual_dir=str(manual))
  tfds.builder(IMAGENET, data_dir=data_dir).download_and_prepare(download_config=config)
  tfds.builder(IMAGENET_V2, data_dir=data_dir).download_and_prepare()


def prepare_ogbg(data_dir: str, dry_run: bool = False) -> dict[str, int]:
  """Builds ogbg-molpcba with TFDS (it downloads OGB's archive) and checks its split sizes."""
  print(f'building {OGBG} (download) in {data_dir}')
  if dry_run:
    return {}
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from workloads.common.tf_data import import_tf  # pylint: disable=g-import-not-at-top

  import_tf()
  builder = tfds.builder(OGBG, data_dir=data_dir)
  builder.download_and_prepare()
  found = {split: builder.info.splits[split].num_examples for split in OGBG_SPLITS}
  if found != OGBG_SPLITS:
    raise ValueError(f'{OGBG} in {data_dir} has splits {found}; expected {OGBG_SPLITS}')
  print(f'{OGBG}: {found}')
  return found


def _extract_h5(tarball: Path, destination: Path) -> int:
  """Extracts the .h5 members of `tarball` into `destination` (flat); returns their count."""
  destination.mkdir(parents=True, exist_ok=True)
  count = 0
  with tarfile.open(tarball) as tar:
    for member in tar:
      if member.isfile() and member.name.endswith('.h5'):
        source = tar.extractfile(member)
        with open(destination / os.path.basename(member.name), 'wb') as out:
          shutil.copyfileobj(source, out, length=16 << 20)
        count += 1
  return count


def check_fastmri(data_dir: str, expected=None) -> dict[str, tuple[int, int]]:
  """(volumes, slices) per folder, after checking each file's layout; raises on a mismatch
  with `expected` (default: the full dataset's counts)."""
  import h5py  # pylint: disable=g-import-not-at-top

  expected = FASTMRI_COUNTS if expected is None else expected
  found = {}
  for folder in FASTMRI_TARBALLS:
    files = sorted((Path(data_dir) / folder).glob('*.h5'))
    slices = 0
    for path in files:
      with h5py.File(path, 'r') as f:
        kspace, target = f['kspace'], f['reconstruction_esc']
        if kspace.ndim != 3 or target.shape[1:] != (320, 320) or len(kspace) != len(target):
          raise ValueError(f'{path}: kspace {kspace.shape}, reconstruction_esc {target.shape}')
        if 'max' not in f.attrs:
          raise ValueError(f'{path}: no attribute "max"')
        slices += len(kspace)
    found[folder] = (len(files), slices)
  for folder, counts in found.items():
    if folder in expected and counts != tuple(expected[folder]):
      raise ValueError(f'{folder}: {counts[0]} volumes, {counts[1]} slices; expected '
                       f'{expected[folder][0]} and {expected[folder][1]}')
  return found


def prepare_fastmri(data_dir: str, tar_dir: str | None, check_only: bool = False,
                    dry_run: bool = False, expected=None) -> dict[str, tuple[int, int]]:
  """Extracts fastMRI's single-coil knee tarballs into `data_dir`, then checks the result."""
  data = Path(data_dir).expanduser()
  if not check_only:
    if tar_dir is None:
      raise ValueError('give --tar_dir (or --check_only)')
    for folder, name in FASTMRI_TARBALLS.items():
      tarball = Path(tar_dir).expanduser() / name
      if not tarball.is_file():
        raise FileNotFoundError(f'{tarball} not found (from fastmri.med.nyu.edu)')
      print(f'extracting {tarball} -> {data / folder}', flush=True)
      if not dry_run:
        print(f'  {_extract_h5(tarball, data / folder)} volumes')
  if dry_run:
    return {}
  found = check_fastmri(str(data), expected)
  for folder, (volumes, slices) in found.items():
    print(f'{data / folder}: {volumes} volumes, {slices} slices')
  return found


# --- LibriSpeech. ------------------------------------------------------------------------------

LIBRISPEECH_SUBSETS = ('train-clean-100', 'train-clean-360', 'train-other-500', 'dev-clean',
                       'dev-other', 'test-clean')
# Utterances per subset in the corpus, and kept by the length filter per split (spec §5.3).
LIBRISPEECH_RAW_COUNTS = {'train-clean-100': 28_539, 'train-clean-360': 104_014,
                          'train-other-500': 148_688, 'dev-clean': 2_703, 'dev-other': 2_864,
                          'test-clean': 2_620}
LIBRISPEECH_KEPT = {('train-clean-100', 'train-clean-360', 'train-other-500'): 263_840,
                    ('dev-clean', 'dev-other'): 5_348, ('test-clean',): 2_472}
MAX_TRANSCRIPT_CHARACTERS = 256
MAX_AUDIO_SAMPLES = 320_000


def librispeech_subset_dir(raw_dir: Path, subset: str, extract_to: Path) -> Path:
  """The folder of a subset's speakers: `<raw>/<subset>`, `<raw>/LibriSpeech/<subset>`, or
  extracted from `<raw>/<subset>.tar.gz` into `extract_to`."""
  for candidate in (raw_dir / subset, raw_dir / 'LibriSpeech' / subset,
                    extract_to / 'LibriSpeech' / subset):
    if candidate.is_dir():
      return candidate
  tarball = raw_dir / f'{subset}.tar.gz'
  if not tarball.is_file():
    raise FileNotFoundError(f'{raw_dir} has neither {subset}/ nor {subset}.tar.gz '
                            '(OpenSLR 12)')
  print(f'extracting {tarball} -> {extract_to}', flush=True)
  with tarfile.open(tarball) as tar:
    _extract_data(tar, extract_to)
  return extract_to / 'LibriSpeech' / subset


def _extract_data(tar: tarfile.TarFile, extract_to: Path) -> None:
  """Extracts files and folders only, all inside `extract_to`: tarfile's 'data' filter, or
  the same refusal written out on Pythons before 3.11.4, which lack it."""
  if hasattr(tarfile, 'data_filter'):
    tar.extractall(extract_to, filter='data')
    return
  root = extract_to.resolve()
  members = tar.getmembers()
  for member in members:
    target = (root / member.name).resolve()
    if not (member.isfile() or member.isdir()) or not target.is_relative_to(root):
      raise ValueError(f'{tar.name}: refusing to extract {member.name!r} (not a plain file '
                       f'or folder inside {extract_to})')
  tar.extractall(extract_to, members=members)


def librispeech_utterances(subset_dir: Path):
  """(id, transcript, flac path) of every utterance, by speaker, chapter and line order."""
  for transcript_file in sorted(subset_dir.glob('*/*/*.trans.txt')):
    with open(transcript_file, encoding='utf-8') as f:
      for line in f:
        utterance, text = line.strip().split(' ', maxsplit=1)
        yield utterance, text, transcript_file.parent / f'{utterance}.flac'


def _preprocess_utterance(out_dir: Path, tokenizer, utterance: str, text: str,
                          audio_path: Path) -> bool:
  """Writes one utterance's arrays unless the length filter drops it; whether it was kept."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import soundfile  # pylint: disable=g-import-not-at-top

  if len(text) > MAX_TRANSCRIPT_CHARACTERS:
    return False
  audio, _ = soundfile.read(audio_path, dtype='int16')
  if len(audio) > MAX_AUDIO_SAMPLES:
    return False
  np.save(out_dir / f'{utterance}_audio.npy', audio.astype(np.int64))
  np.save(out_dir / f'{utterance}_targets.npy', np.asarray(tokenizer.encode(text), np.int32))
  return True


def preprocess_librispeech_subset(subset_dir: Path, data_dir: Path, subset: str, tokenizer,
                                  workers: int = 8) -> tuple[int, int]:
  """Writes a subset's kept utterances and its CSV of ids; returns (seen, kept)."""
  import concurrent.futures  # pylint: disable=g-import-not-at-top
  import csv  # pylint: disable=g-import-not-at-top

  out_dir = data_dir / subset
  out_dir.mkdir(parents=True, exist_ok=True)
  utterances = list(librispeech_utterances(subset_dir))
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    kept = list(pool.map(lambda u: _preprocess_utterance(out_dir, tokenizer, *u), utterances))
  with open(data_dir / f'{subset}.csv', 'w', newline='') as f:
    writer = csv.writer(f)
    writer.writerow(['', 'id'])  # pandas' to_csv layout, as AlgoPerf's files have
    ids = [u[0] for u, k in zip(utterances, kept) if k]
    writer.writerows(enumerate(ids))
  return len(utterances), len(ids)


def prepare_librispeech(data_dir: str, raw_dir: str, subsets=LIBRISPEECH_SUBSETS,
                        vocab_size: int = 1024, dry_run: bool = False,
                        check_counts: bool = True,
                        workers: int = 8) -> dict[str, tuple[int, int]]:
  """Tokenizer, then every subset's arrays and CSV; returns {subset: (seen, kept)}."""
  from workloads.librispeech_conformer import tokenizer as tok  # pylint: disable=g-import-not-at-top

  data, raw = Path(data_dir).expanduser(), Path(raw_dir).expanduser()
  extract_to = data / 'raw'
  print(f'LibriSpeech {", ".join(subsets)} from {raw} -> {data}')
  if dry_run:
    return {}
  dirs = {s: librispeech_subset_dir(raw, s, extract_to) for s in subsets}
  model_path = data / tok.MODEL_FILE
  transcripts = (text for _, text, _ in librispeech_utterances(dirs['train-clean-100']))
  tok.train_sentencepiece(transcripts, str(model_path), vocab_size)
  tokenizer = tok.SentencePieceTokenizer(str(model_path))
  found = {}
  for subset, subset_dir in dirs.items():
    found[subset] = preprocess_librispeech_subset(subset_dir, data, subset, tokenizer, workers)
    print(f'{subset}: {found[subset][1]} of {found[subset][0]} utterances kept', flush=True)
  if check_counts:
    for subset, (seen, _) in found.items():
      if seen != LIBRISPEECH_RAW_COUNTS[subset]:
        raise ValueError(f'{subset}: {seen} utterances; expected {LIBRISPEECH_RAW_COUNTS[subset]}')
    for group, expected in LIBRISPEECH_KEPT.items():
      kept = sum(found[s][1] for s in group if s in found)
      if set(group) <= set(found) and kept != expected:
        raise ValueError(f'{"+".join(group)}: {kept} utterances kept; expected {expected}')
  return found


CRITEO_DAYS = 24
CRITEO_LINES_PER_FILE = 5_000_000
CRITEO_EVAL_COUNTS = {'test': 95_000_000, 'validation': 83_274_637}


def _split_day(source: Path, data_dir: Path, day: int, lines_per_file: int) -> int:
  """Writes `source`'s lines into `day_<day>_<NN>` files; returns how many files."""
  opener = gzip.open if source.suffix == '.gz' else open
  with opener(source, 'rb') as lines:
    for part in itertools.count():
      chunk = list(itertools.islice(lines, lines_per_file))
      if not chunk:
        return part
      with open(data_dir / f'day_{day}_{part:02d}', 'wb') as out:
        out.writelines(chunk)


def check_criteo(data_dir: str, expected=None) -> dict[str, int]:
  """Day 23's test and validation line counts; raises when they are not `expected`."""
  from workloads.criteo1tb import input_pipeline  # pylint: disable=g-import-not-at-top

  expected = CRITEO_EVAL_COUNTS if expected is None else expected
  found = {split: sum(map(input_pipeline.line_count,
                          input_pipeline.split_files(data_dir, split))) for split in expected}
  if found != expected:
    raise ValueError(f'day 23 has {found} lines; expected {expected}')
  return found


def prepare_criteo(data_dir: str, raw_dir: str | None, check_only: bool = False,
                   dry_run: bool = False, lines_per_file: int = CRITEO_LINES_PER_FILE,
                   expected=None) -> dict[str, int]:
  """Splits Criteo's day files into `day_<d>_<NN>` files of 5,000,000 lines, then checks."""
  data = Path(data_dir).expanduser()
  if not check_only:
    if raw_dir is None:
      raise ValueError('give --raw_dir (or --check_only)')
    raw = Path(raw_dir).expanduser()
    sources = {}
    for day in range(CRITEO_DAYS):
      found = [path for path in (raw / f'day_{day}', raw / f'day_{day}.gz') if path.is_file()]
      if not found:
        raise FileNotFoundError(f'{raw} has no day_{day} or day_{day}.gz (from Criteo)')
      sources[day] = found[0]
    data.mkdir(parents=True, exist_ok=True)
    for day, source in sources.items():
      print(f'splitting {source} -> {data}/day_{day}_NN', flush=True)
      if not dry_run:
        print(f'  {_split_day(source, data, day, lines_per_file)} files', flush=True)
  if dry_run:
    return {}
  found = check_criteo(str(data), expected)
  print(f'{data}: day 23 has {found["test"]:,} test and {found["validation"]:,} validation lines')
  return found


# --- FineWeb-Edu. -----------------------------------------------------------------------------

def _finewebedu_workload():
  """The workload whose vocabulary, window and validation size the files must fit."""
  from workloads.finewebedu_lm.workload import FineWebEduLmWorkload  # pylint: disable=g-import-not-at-top

  return FineWebEduLmWorkload


def gpt2_encoder() -> Callable[[list[str]], list[list[int]]]:
  """GPT-2's BPE (tiktoken), without special tokens, on all cores."""
  import tiktoken  # pylint: disable=g-import-not-at-top

  encoding = tiktoken.get_encoding('gpt2')
  return lambda texts: encoding.encode_ordinary_batch(texts, num_threads=os.cpu_count() or 1)


def finewebedu_split(doc_id: str, validation_fraction: float) -> str:
  """'val' for the documents whose id hashes into the lowest `validation_fraction`."""
  position = int.from_bytes(hashlib.sha256(doc_id.encode()).digest()[:8], 'big') / 2.0**64
  return 'val' if position < validation_fraction else 'train'


class _TokenFiles:
  """Appends token arrays to one uint16 file per split (written as `.part`, renamed at the
  end, so an interrupted run leaves nothing that looks finished)."""

  def __init__(self, data_dir: Path):
    data_dir.mkdir(parents=True, exist_ok=True)
    self.paths = {s: data_dir / name for s, name in FINEWEBEDU_FILES.items()}
    self.files = {s: open(f'{p}.part', 'wb')  # pylint: disable=consider-using-with
                  for s, p in self.paths.items()}
    self.counts = dict.fromkeys(self.paths, 0)

  def write(self, split: str, tokens: np.ndarray) -> None:
    vocab_size = _finewebedu_workload().config.vocab_size
    if len(tokens) and (tokens.min() < 0 or tokens.max() >= vocab_size):
      raise ValueError(f'token ids outside [0, {vocab_size}) in the {split} split')
    self.files[split].write(np.asarray(tokens, '<u2').tobytes())
    self.counts[split] += len(tokens)

  def close(self) -> dict[str, int]:
    for split, f in self.files.items():
      f.close()
      os.replace(f'{self.paths[split]}.part', self.paths[split])
    return self.counts


def _parquet_documents(parquet_dir: str, rows: int = 1024) -> Iterator[tuple[list, list]]:
  """(ids, texts) in batches, over the sorted parquet files."""
  import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top

  files = sorted(Path(parquet_dir).expanduser().glob('*.parquet'))
  if not files:
    raise FileNotFoundError(f'no .parquet files in {parquet_dir}')
  for path in files:
    print(f'tokenising {path}', flush=True)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=['id', 'text']):
      yield batch.column('id').to_pylist(), batch.column('text').to_pylist()


def prepare_finewebedu_parquet(data_dir: str, parquet_dir: str, encode=None,
                               validation_fraction: float = FINEWEBEDU_VALIDATION_FRACTION
                               ) -> dict[str, int]:
  """Tokenises FineWeb-Edu parquet files into train.bin and val.bin; returns token counts."""
  encode = encode or gpt2_encoder()
  out = _TokenFiles(Path(data_dir).expanduser())
  for ids, texts in _parquet_documents(parquet_dir):
    docs = {'train': [], 'val': []}
    for doc_id, tokens in zip(ids, encode(texts)):
      docs[finewebedu_split(doc_id, validation_fraction)].append(tokens + [GPT2_END_OF_TEXT])
    for split, token_lists in docs.items():
      if token_lists:
        out.write(split, np.concatenate([np.asarray(t, np.int64) for t in token_lists]))
  return out.close()


def prepare_finewebedu_algoperf(data_dir: str, algoperf_dir: str) -> dict[str, int]:
  """Copies the `input_ids` of AlgoPerf's `train/` and `val/` datasets (Arrow stream files
  listed in each folder's state.json) into train.bin and val.bin, in their order."""
  import pyarrow as pa  # pylint: disable=g-import-not-at-top
  import pyarrow.compute as pc  # pylint: disable=g-import-not-at-top

  out = _TokenFiles(Path(data_dir).expanduser())
  for split in FINEWEBEDU_FILES:
    folder = Path(algoperf_dir).expanduser() / split
    if not (folder / 'state.json').is_file():
      raise FileNotFoundError(f'{folder} is not a saved dataset (no state.json)')
    for entry in json.loads((folder / 'state.json').read_text())['_data_files']:
      print(f'reading {folder / entry["filename"]}', flush=True)
      with pa.memory_map(str(folder / entry['filename'])) as source:
        for batch in pa.ipc.open_stream(source):
          ids = pc.list_flatten(batch.column('input_ids'))
          out.write(split, ids.to_numpy(zero_copy_only=False))
  return out.close()


def finish_finewebedu(data_dir: str, counts: dict[str, int], source: str,
                      min_validation_windows: int | None = None) -> dict:
  """Writes meta.json and checks that the validation split has the windows evaluated (the
  workload's validation examples, unless `min_validation_windows`)."""
  workload = _finewebedu_workload()
  window = workload.config.seq_len + 1
  min_validation_windows = min_validation_windows or workload.num_validation_examples
  windows = {s: n // window for s, n in counts.items()}
  meta = {'dtype': 'uint16 (little-endian)', 'tokenizer': 'gpt2', 'end_of_text': GPT2_END_OF_TEXT,
          'source': source, 'tokens': counts, 'windows_of_1025': windows}
  (Path(data_dir).expanduser() / 'meta.json').write_text(json.dumps(meta, indent=2) + '\n')
  if windows['val'] < min_validation_windows:
    raise ValueError(f'val.bin has {windows["val"]} windows of {window} tokens; '
                     f'finewebedu_lm evaluates {min_validation_windows}')
  return meta


def prepare_finewebedu(data_dir: str, parquet_dir: str | None, algoperf_dir: str | None,
                       dry_run: bool = False) -> dict:
  """One of the two sources -> train.bin, val.bin and meta.json in `data_dir`."""
  if (parquet_dir is None) == (algoperf_dir is None):
    raise ValueError('give exactly one of --parquet_dir and --algoperf_dir')
  source = parquet_dir or algoperf_dir
  print(f'writing {", ".join(FINEWEBEDU_FILES.values())} to {data_dir} from {source}')
  if dry_run:
    return {}
  if parquet_dir is not None:
    counts = prepare_finewebedu_parquet(data_dir, parquet_dir)
  else:
    counts = prepare_finewebedu_algoperf(data_dir, algoperf_dir)
  meta = finish_finewebedu(data_dir, counts, str(source))
  print(json.dumps(meta['windows_of_1025']))
  return meta


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  sub = parser.add_subparsers(dest='dataset', required=True)
  imagenet = sub.add_parser('imagenet', help='ImageNet-2012 and ImageNet-v2 via TFDS')
  imagenet.add_argument('--data_dir', required=True, help='the TFDS data folder to fill')
  imagenet.add_argument('--manual_dir', required=True,
                        help='folder with ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar')
  fastmri = sub.add_parser('fastmri', help='fastMRI knee single-coil h5 volumes')
  fastmri.add_argument('--data_dir', required=True, help='gets knee_singlecoil_{train,val}/')
  fastmri.add_argument('--tar_dir', help='folder with knee_singlecoil_{train,val}.tar.xz')
  fastmri.add_argument('--check_only', action='store_true')
  ogbg = sub.add_parser('ogbg', help='ogbg-molpcba via TFDS (downloads)')
  ogbg.add_argument('--data_dir', required=True, help='the TFDS data folder to fill')
  librispeech = sub.add_parser('librispeech', help='LibriSpeech 960h as arrays, and tokenizer')
  librispeech.add_argument('--data_dir', required=True, help='gets <subset>/, <subset>.csv')
  librispeech.add_argument('--raw_dir', required=True,
                           help='folder with <subset>.tar.gz or the extracted subsets')
  librispeech.add_argument('--workers', type=int, default=8, help='threads decoding FLAC')
  criteo = sub.add_parser('criteo1tb', help='Criteo 1TB click logs, split into day files')
  criteo.add_argument('--data_dir', required=True, help='gets day_<d>_<NN> files')
  criteo.add_argument('--raw_dir', help='folder with day_0 ... day_23 (or .gz)')
  criteo.add_argument('--check_only', action='store_true')
  finewebedu = sub.add_parser('finewebedu', help='FineWeb-Edu as GPT-2 tokens (uint16 files)')
  finewebedu.add_argument('--data_dir', required=True, help='gets train.bin, val.bin, meta.json')
  finewebedu.add_argument('--parquet_dir', help='folder with the sample-10BT .parquet files')
  finewebedu.add_argument('--algoperf_dir', help="AlgoPerf's prepared folder (train/, val/)")
  for p in (imagenet, fastmri, ogbg, librispeech, criteo, finewebedu):
    p.add_argument('--dry_run', action='store_true')
  args = parser.parse_args(argv)
  if args.dataset == 'imagenet':
    prepare_imagenet(os.path.expanduser(args.data_dir), args.manual_dir, args.dry_run)
  elif args.dataset == 'ogbg':
    prepare_ogbg(os.path.expanduser(args.data_dir), args.dry_run)
  elif args.dataset == 'librispeech':
    prepare_librispeech(args.data_dir, args.raw_dir, dry_run=args.dry_run, workers=args.workers)
  elif args.dataset == 'fastmri':
    prepare_fastmri(args.data_dir, args.tar_dir, args.check_only, args.dry_run)
  elif args.dataset == 'criteo1tb':
    prepare_criteo(args.data_dir, args.raw_dir, args.check_only, args.dry_run)
  else:
    if (args.parquet_dir is None) == (args.algoperf_dir is None):
      parser.error('finewebedu: give exactly one of --parquet_dir and --algoperf_dir')
    prepare_finewebedu(args.data_dir, args.parquet_dir, args.algoperf_dir, args.dry_run)
  return 0


if __name__ == '__main__':
  sys.exit(main())
