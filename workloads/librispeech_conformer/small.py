"""librispeech_conformer_small: the same Conformer code (64 wide, 2 layers, 4 heads), SpecAugment,
CTC loss and WER, on synthetic speech (`synthetic`): log-mel-like frames of random-word
transcripts, tokenised by character. No download, no TensorFlow, no SentencePiece.

The model starts after the front end (its inputs are the 80-bin features), so a step costs
tens of milliseconds on 2 CPU cores.
"""

from __future__ import annotations

import functools

import numpy as np

from workloads.common import batching
from workloads.common.facts import from_configs
from workloads.librispeech_conformer import synthetic
from workloads.librispeech_conformer.model import ConformerConfig
from workloads.librispeech_conformer.tokenizer import CharacterTokenizer
from workloads.librispeech_conformer.workload import ConformerWorkload

SPEECH = synthetic.SpeechConfig(max_frames=128)
SPLIT_SIZES = {'train': 2_048, 'validation': 256, 'test': 256}
DATA_SEED = 0  # the data set is fixed, as a real one is; trials differ in order and masks
TOKENIZER = CharacterTokenizer(synthetic.ALPHABET)


@functools.cache
def load_splits() -> dict[str, dict[str, np.ndarray]]:
  """{split: padded arrays} of fresh utterances per split, all with the same templates."""
  template_seed, *split_seeds = np.random.SeedSequence(DATA_SEED).spawn(1 + len(SPLIT_SIZES))
  templates = synthetic.spectral_templates(np.random.default_rng(template_seed),
                                           len(synthetic.ALPHABET), SPEECH.num_bins)
  return {split: synthetic.make_split(np.random.default_rng(seed), n, templates, SPEECH,
                                      TOKENIZER.encode)
          for (split, n), seed in zip(SPLIT_SIZES.items(), split_seeds)}


@from_configs
class LibriSpeechConformerSmallWorkload(ConformerWorkload):
  """Conformer d64, 4 heads, 2 layers, vocabulary of 14 (blank, 12 letters, word break)."""

  name = 'librispeech_conformer_small'
  dataset = (f'synthetic speech: {SPEECH.num_bins}-bin frames of random-word transcripts '
             f'(12 letters), up to {SPEECH.max_frames} frames')
  # Batch-norm momentum 0.99, not 0.999: the eval uses the running statistics, which must
  # settle within the few hundred steps this sibling trains (with 0.999 they still hold 60%
  # of their initial values after 500 steps, and the validation WER stalled near 0.22).
  config = ConformerConfig(vocab_size=TOKENIZER.vocab_size, encoder_dim=64,
                           num_attention_heads=4, num_encoder_layers=2, use_frontend=False,
                           batch_norm_momentum=0.99)
  input_shape = (SPEECH.max_frames, SPEECH.num_bins)
  target_length = SPEECH.max_tokens
  num_train_examples = SPLIT_SIZES['train']
  num_validation_examples = SPLIT_SIZES['validation']
  num_test_examples = SPLIT_SIZES['test']
  eval_batch_size = 256  # divides every eval split: no padded rows in the WER (spec §13.9)

  def tokenizer(self, data_dir):
    del data_dir
    return TOKENIZER

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # generated
    arrays = load_splits()['train' if split == 'eval_train' else split]
    if split == 'train':
      return batching.train_batches(arrays, global_batch_size, rng, start_step)
    n = self.split_sizes()[split]
    return padded_eval_batches({k: v[:n] for k, v in arrays.items()}, global_batch_size)


def padded_eval_batches(arrays, batch_size: int):
  """Each example once, in order; the last batch padded with 1.0 everywhere (AlgoPerf's
  LibriSpeech padding value: padded rows are all padding) and 'weights' 0 there."""
  n = len(arrays['inputs'])
  for start in range(0, n, batch_size):
    batch = {k: v[start:start + batch_size] for k, v in arrays.items()}
    yield batching.pad_batch(batch, batch_size, pad_value=1.0)
