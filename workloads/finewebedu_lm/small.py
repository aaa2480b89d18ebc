"""finewebedu_lm_small: the same decoder code, byte-level (vocabulary 256), on the source of the
Python standard library; same windows, loss and perplexity metric.

The corpus is the `.py` files of the running interpreter's standard library
(`sysconfig.get_paths()['stdlib']`), leaving out folders named `test`, `tests` and
`idle_test` (the test suite) and any `site-packages`/`dist-packages` inside it: real text
that no one here wrote, about 12 MB, read in a fraction of a second. Each file's bytes are
followed by one NUL byte (which no source file contains), as an end-of-text token follows
each FineWeb-Edu document.

The split is by file, fixed and the same on every machine with the same Python version:
files are ordered by the SHA-256 of their path relative to the library folder (posix form);
the first files in that order that fill `EVAL_SPLIT_WINDOWS` windows form the validation
split, the next ones the test split, and all the others the training split; a file larger
than a quarter of that goes to training (so that no eval split is one or two files). An eval
split is evaluated on every `EVAL_STRIDE`-th of its windows: the files' variety at a quarter
of the cost. The corpus, and so the split, changes with the Python version; on CPython
3.11.7 it is 734 files, 12,118,641 bytes: validation 21 files (139,217 bytes, 1,079 windows
of 129), test 23 files (156,146 bytes, 1,210 windows), training 690 files (11,823,278 bytes,
91,658 windows).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import sysconfig
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from workloads.common.facts import from_configs
from workloads.finewebedu_lm import input_pipeline
from workloads.finewebedu_lm.model import DecoderConfig
from workloads.finewebedu_lm.workload import DecoderLmWorkload

SMALL_DECODER = DecoderConfig(vocab_size=256, seq_len=128, model_dim=128, num_heads=4,
                              num_layers=2, expanded_model_dim=512,
                              compute_dtype=jnp.float32)
EXCLUDED_FOLDERS = frozenset({'test', 'tests', 'idle_test', 'site-packages', 'dist-packages'})
END_OF_FILE = 0  # the NUL byte
EVAL_SPLIT_WINDOWS = 1_024  # windows of the files in each of validation and test
EVAL_STRIDE = 4  # evaluated: windows 0, 4, 8, ... (256)
EVAL_BYTES = EVAL_SPLIT_WINDOWS * (SMALL_DECODER.seq_len + 1)


@dataclasses.dataclass(frozen=True)
class Corpus:
  """The token streams of the three splits, and the files each came from."""

  tokens: dict[str, np.ndarray]  # split -> uint8 stream
  files: dict[str, tuple[str, ...]]  # split -> relative paths, in stream order


def library_files(root: Path) -> list[str]:
  """The corpus's files under `root`: relative posix paths, sorted."""
  return sorted(
      p.relative_to(root).as_posix() for p in root.rglob('*.py')
      if p.is_file() and not EXCLUDED_FOLDERS & set(p.relative_to(root).parts[:-1]))


def split_files(sizes: dict[str, int], eval_bytes: int) -> dict[str, list[str]]:
  """{split: files} from {relative path: bytes}, by the rule in the module docstring, with
  `eval_bytes` bytes (end-of-text bytes included) wanted in each of validation and test."""
  order = sorted(sizes, key=lambda f: hashlib.sha256(f.encode()).hexdigest())
  splits = {'validation': [], 'test': [], 'train': []}
  wanted = {'validation': eval_bytes, 'test': eval_bytes}
  filled = dict.fromkeys(wanted, 0)
  for path in order:
    split = next((s for s in wanted if filled[s] < wanted[s]), 'train')
    if sizes[path] > wanted.get(split, 0) // 4:  # no split of a few files only
      split = 'train'
    splits[split].append(path)
    if split in filled:
      filled[split] += sizes[path] + 1  # and its end-of-text byte
  return splits


@functools.cache
def load_corpus(root: str | None = None, eval_bytes: int = EVAL_BYTES) -> Corpus:
  """The split corpus of the library at `root` (default: this interpreter's)."""
  base = Path(root or sysconfig.get_paths()['stdlib'])
  contents = {f: (base / f).read_bytes() for f in library_files(base)}
  splits = split_files({f: len(b) for f, b in contents.items()}, eval_bytes)
  separator = bytes([END_OF_FILE])
  tokens = {split: np.frombuffer(b''.join(contents[f] + separator for f in files), np.uint8)
            for split, files in splits.items()}
  return Corpus(tokens, {s: tuple(f) for s, f in splits.items()})


@from_configs
class FineWebEduLmSmallWorkload(DecoderLmWorkload):
  """Width 128, 2 layers, 4 heads, context 128 bytes, vocabulary 256, float32 compute."""

  name = 'finewebedu_lm_small'
  dataset = ('Python standard-library source (.py, tests left out), bytes, windows of 129; '
             'split by file')
  config = SMALL_DECODER
  num_validation_examples = EVAL_SPLIT_WINDOWS // EVAL_STRIDE
  num_test_examples = EVAL_SPLIT_WINDOWS // EVAL_STRIDE
  eval_batch_size = 256

  @property
  def num_train_examples(self) -> int:
    return input_pipeline.num_windows(self.corpus().tokens['train'], self.config.seq_len)

  def corpus(self) -> Corpus:
    return load_corpus(None, EVAL_SPLIT_WINDOWS * (self.config.seq_len + 1))

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # read from the interpreter's installation
    seq_len = self.config.seq_len
    tokens = self.corpus().tokens['train' if split == 'eval_train' else split]
    if split == 'train':
      return input_pipeline.train_iterator(tokens, global_batch_size, rng, start_step, seq_len)
    if split != 'eval_train':  # the evaluated windows, as a stream of their own
      tokens = input_pipeline.windows(tokens, seq_len)[::EVAL_STRIDE].reshape(-1)
    return input_pipeline.eval_iterator(tokens, global_batch_size, self.split_sizes()[split],
                                        seq_len)
