"""librispeech_conformer: the Conformer with a CTC head on LibriSpeech 960h, scored by word
error rate (spec §5).

Batches are flat dicts of arrays (so that the runner places and pads them like any other):
'inputs' (B, 320,000) audio and 'input_paddings' (B, 320,000), 'targets' (B, 256) token ids
and 'target_paddings' (B, 256), paddings 1.0 on padding; eval batches add 'weights'.
`model_fn` returns AlgoPerf's `(logits, logit_paddings)` pair as its logits, and `loss_fn`
takes the targets alone (a submission's `loss_fn(batch['targets'], logits, ...)`) or
AlgoPerf's (targets, target_paddings) pair.
"""

from __future__ import annotations

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import spec
from workloads.common import data_check
from workloads.common.facts import from_configs
from workloads.librispeech_conformer import ctc
from workloads.librispeech_conformer.model import Conformer, ConformerConfig

AUDIO_LENGTH = 320_000


class ConformerWorkload(spec.Workload):
  """Model, loss and WER shared by the full-size workload and its synthetic sibling.

  Subclasses set `config`, `input_shape` (one example's 'inputs'), the facts, the data
  (`input_iterator`) and `tokenizer(data_dir)` (decodes ids to text for the WER).
  """

  target_metric_name = 'wer'
  target_metric_mode = 'min'
  loss_type = spec.LossType.CTC_LOSS
  config: ConformerConfig = ConformerConfig()
  input_shape: tuple[int, ...] = (AUDIO_LENGTH,)
  target_length: int = 256  # padded length of a transcript's token ids

  def __init__(self):
    self._model = Conformer(self.config)

  def synthetic_batch(self, batch_size, seed=0):
    """Random utterances of half to full length, random transcripts of 10 to 40% of
    `target_length` tokens, padded as the pipelines pad them."""
    rng = np.random.default_rng(seed)
    frames = self.input_shape[0]
    lengths = rng.integers(frames // 2, frames + 1, batch_size)
    input_paddings = (np.arange(frames) >= lengths[:, None]).astype(np.float32)
    keep = (1.0 - input_paddings).reshape(
        input_paddings.shape + (1,) * (len(self.input_shape) - 1))
    inputs = rng.normal(size=(batch_size, *self.input_shape)).astype(np.float32) * keep
    tokens = rng.integers(self.target_length // 10, self.target_length * 2 // 5, batch_size)
    target_paddings = (np.arange(self.target_length) >= tokens[:, None]).astype(np.float32)
    targets = rng.integers(1, self.config.vocab_size, (batch_size, self.target_length))
    return {'inputs': inputs, 'input_paddings': input_paddings,
            'targets': (targets * (1 - target_paddings)).astype(np.int32),
            'target_paddings': target_paddings, 'weights': np.ones(batch_size, np.float32)}

  def init_model_fn(self, rng):
    init = jax.jit(functools.partial(self._model.init, train=False))
    dummy = jnp.zeros((2, *self.input_shape), jnp.float32)
    paddings = jnp.zeros((2, *self.input_shape[:1]), jnp.float32)
    variables = init({'params': rng}, dummy, paddings)
    return variables['params'], variables['batch_stats']

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    """Returns ((logits, logit_paddings), model_state).

    `mode` switches SpecAugment and dropout; batch norm follows `spec.uses_running_average`
    and the returned statistics are updated exactly when `update_batch_norm` is true.
    """
    batch = augmented_and_preprocessed_input_batch
    train = mode == spec.ForwardPassMode.TRAIN
    running = spec.uses_running_average(update_batch_norm, use_running_average_bn)
    apply = functools.partial(
        self._model.apply, {'params': params, 'batch_stats': model_state}, batch['inputs'],
        batch['input_paddings'], train=train, use_running_average_bn=running,
        dropout_rate=dropout_rate, rngs={'dropout': rng} if train else None)
    if update_batch_norm:
      outputs, new_variables = apply(mutable=['batch_stats'])
      return outputs, new_variables['batch_stats']
    return apply(), model_state

  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    del label_smoothing  # CTC takes no smoothing
    return ctc.ctc_loss(label_batch, logits_batch, mask_batch)

  # --- Evaluation. ---------------------------------------------------------------------------

  def tokenizer(self, data_dir: str | None):
    raise NotImplementedError

  def eval_batch(self, params, model_state, batch, rng):
    """Loss sums and the greedy hypotheses (B, frames) of one padded batch; jittable."""
    logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng,
                              update_batch_norm=False)
    loss = self.loss_fn((batch['targets'], batch['target_paddings']), logits, batch['weights'])
    hypotheses = ctc.greedy_decode(*logits)
    dtype = jnp.int16 if self.config.vocab_size <= np.iinfo(np.int16).max else jnp.int32
    return {'loss': loss['summed'], 'tokens': loss['n_valid_examples'],
            'hypotheses': hypotheses.astype(dtype)}

  def eval_model_on_split(self, split, num_examples, params, model_state, rng, data_dir,
                          place_batch):
    """WER and CTC loss (per target token) over a split.

    Batches are dispatched without waiting: the loss sums accumulate on the device and each
    batch's hypotheses start their copy to the host at once; the host detokenises and
    counts word errors after the last batch. Padded rows count as AlgoPerf counts them
    (`ctc.word_errors`).
    """
    if not hasattr(self, '_eval_batch_jit'):
      self._eval_batch_jit = jax.jit(self.eval_batch)
    loss = tokens = 0.0
    hypotheses, targets, target_paddings = [], [], []
    for batch in self.input_iterator(split, rng, self.eval_batch_size, data_dir):
      out = self._eval_batch_jit(params, model_state, place_batch(batch), rng)
      loss, tokens = loss + out['loss'], tokens + out['tokens']
      out['hypotheses'].copy_to_host_async()
      hypotheses.append(out['hypotheses'])
      padded_row = batch['weights'][:, None] == 0  # an empty reference, as AlgoPerf's
      targets.append(batch['targets'])
      target_paddings.append(np.where(padded_row, 1.0, batch['target_paddings']))
    decode = self.tokenizer(data_dir).decode
    # Rows that `place_batch` added (to split over the devices) have no host targets.
    hypotheses = np.concatenate([h[:len(t)] for h, t in zip(jax.device_get(hypotheses), targets)])
    errors, words = ctc.corpus_word_errors(decode, hypotheses, np.concatenate(targets),
                                           np.concatenate(target_paddings))
    loss, tokens = jax.device_get((loss, tokens))
    return {'wer': errors / max(words, 1), 'ctc_loss': float(loss) / max(float(tokens), 1.0)}


@from_configs
class LibriSpeechConformerWorkload(ConformerWorkload):
  """The 4-layer, 512-wide Conformer (32,321,792 params, 4,096 batch-norm statistics).

  `data_dir` holds the preprocessed splits and `spm_model.vocab` (scripts/prepare_data.py).
  """

  name = 'librispeech_conformer'
  dataset = ('LibriSpeech 960h, preprocessed: train-clean-100/360 + train-other-500 (train), '
             'dev-clean + dev-other (validation), test-clean (test)')
  num_train_examples = 263_840
  num_validation_examples = 5_348
  num_test_examples = 2_472
  eval_batch_size = 256

  def check_data(self, data_dir):
    from workloads.librispeech_conformer import input_pipeline  # pylint: disable=g-import-not-at-top
    from workloads.librispeech_conformer import tokenizer  # pylint: disable=g-import-not-at-top

    subsets = sorted({s for split in input_pipeline.SUBSETS.values() for s in split})
    data_check.require(self.name, data_dir,
                       [tokenizer.MODEL_FILE] + [f'{subset}.csv' for subset in subsets],
                       'librispeech --raw_dir=...', packages=('tensorflow', 'sentencepiece'))

  def tokenizer(self, data_dir):
    from workloads.librispeech_conformer import tokenizer  # pylint: disable=g-import-not-at-top

    if data_dir is None:
      raise ValueError('librispeech_conformer needs --data_dir (see scripts/prepare_data.py)')
    return _sentencepiece(os.path.join(data_dir, tokenizer.MODEL_FILE))

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    from workloads.librispeech_conformer import input_pipeline  # pylint: disable=g-import-not-at-top

    if split == 'train':
      return input_pipeline.train_iterator(data_dir, rng, global_batch_size, start_step)
    return input_pipeline.eval_iterator(data_dir, split, global_batch_size,
                                        self.split_sizes()[split])


@functools.lru_cache(maxsize=4)
def _sentencepiece(path: str):
  from workloads.librispeech_conformer import tokenizer  # pylint: disable=g-import-not-at-top

  return tokenizer.SentencePieceTokenizer(path)
