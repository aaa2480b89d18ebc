"""finewebedu_lm: next-token prediction on GPT-2 tokens of FineWeb-Edu, scored by validation
perplexity (spec §10)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import spec
from workloads.common import data_check
from workloads.common.facts import from_configs
from workloads.finewebedu_lm import input_pipeline
from workloads.finewebedu_lm.model import FINEWEBEDU_LM, Decoder, DecoderConfig


def token_cross_entropy(label_batch, logits_batch, mask_batch=None,
                        label_smoothing: float = 0.0) -> spec.LossFnOutput:
  """Per-token cross-entropy, targets smoothed as (1 - a) * onehot + a / vocab.

  log_softmax runs in the logits' dtype (bfloat16 for the full model), as AlgoPerf's loss
  does (spec §13.8); the masked sums are in the mask's dtype (float32 from the pipeline).
  Without a mask every token counts.
  """
  if logits_batch.ndim != label_batch.ndim + 1:
    raise ValueError(f'logits {logits_batch.shape} do not match targets {label_batch.shape}')
  log_probs = jax.nn.log_softmax(logits_batch, axis=-1)
  target_log_probs = jnp.take_along_axis(log_probs, label_batch[..., None], axis=-1)[..., 0]
  per_token = -((1.0 - label_smoothing) * target_log_probs
                + label_smoothing / logits_batch.shape[-1] * log_probs.sum(axis=-1))
  if mask_batch is None:
    return {'summed': per_token.sum(), 'n_valid_examples': per_token.size,
            'per_example': per_token}
  per_token = per_token * mask_batch
  return {'summed': per_token.sum(), 'n_valid_examples': mask_batch.sum(),
          'per_example': per_token}


def _param_type(path, leaf) -> spec.ParameterType:
  """AlgoPerf's parameter kinds, read from the names of `Decoder`'s tree."""
  del leaf
  names = [str(getattr(k, 'key', k)) for k in path]
  name, parent = names[-1], names[-2] if len(names) > 1 else ''
  kinds = {'query': spec.ParameterType.ATTENTION_Q, 'key': spec.ParameterType.ATTENTION_K,
           'value': spec.ParameterType.ATTENTION_V,
           'attn_out_proj': spec.ParameterType.ATTENTION_OUT}
  if name == 'embedding':
    return spec.ParameterType.EMBEDDING
  if parent in kinds:
    return kinds[parent]
  if name == 'scale':  # the RMSNorm scales, out_ln's included
    return spec.ParameterType.LAYER_NORM_SCALE
  if name == 'attn_scale':
    return spec.ParameterType.SCALE
  return spec.ParameterType.WEIGHT


class DecoderLmWorkload(spec.Workload):
  """Shared by the full-size workload and its byte-level sibling: model, loss, metric.

  Subclasses set `config` (a `DecoderConfig`), the facts and `input_iterator`. Batches hold
  int32 'inputs' and 'targets' (batch, length); eval batches also 'weights' per token.
  """

  target_metric_name = 'ppl'
  target_metric_mode = 'min'
  loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
  config: DecoderConfig

  def __init__(self):
    self._model = Decoder(self.config)

  def synthetic_batch(self, batch_size, seed=0):
    """Random windows of `seq_len + 1` tokens, split into inputs and targets."""
    tokens = np.random.default_rng(seed).integers(
        0, self.config.vocab_size, (batch_size, self.config.seq_len + 1)).astype(np.int32)
    return {'inputs': tokens[:, :-1], 'targets': tokens[:, 1:],
            'weights': np.ones((batch_size, self.config.seq_len), np.float32)}

  @property
  def model_params_types(self):
    params, _ = self.abstract_init()
    return jax.tree_util.tree_map_with_path(_param_type, params)

  def init_model_fn(self, rng):
    params_rng, _ = jax.random.split(rng)
    tokens = jnp.ones((1, self.config.seq_len), jnp.int32)
    variables = jax.jit(self._model.init)({'params': params_rng}, tokens)
    return variables['params'], {}

  def model_fn(self, params, augmented_and_preprocessed_input_batch, model_state, mode, rng,
               update_batch_norm, dropout_rate=None, use_running_average_bn=None):
    """Logits in the compute dtype; the float32 params are cast to it first (AlgoPerf's
    mixed-precision policy: params float32, compute and output bfloat16)."""
    del mode, rng, update_batch_norm, dropout_rate, use_running_average_bn  # none of them
    dtype = self.config.compute_dtype
    params = jax.tree.map(
        lambda p: p.astype(dtype) if jnp.issubdtype(p.dtype, jnp.floating) else p, params)
    logits = self._model.apply({'params': params},
                               augmented_and_preprocessed_input_batch['inputs'])
    return logits.astype(dtype), model_state

  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    return token_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

  def eval_batch(self, params, model_state, batch, rng):
    logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng,
                              update_batch_norm=False)
    loss = self.loss_fn(batch['targets'], logits, batch['weights'])
    return {'loss': loss['summed'], 'denominator': loss['n_valid_examples']}

  def finalize_metrics(self, sums, num_examples):
    """loss = Σ token loss / Σ weight (per token), ppl = exp(loss); an empty split gives
    loss 0 and ppl 1, as AlgoPerf's."""
    del num_examples  # the metric is per token
    if not sums or not float(sums['denominator']):
      return {'loss': 0.0, 'ppl': 1.0}
    loss = float(sums['loss']) / float(sums['denominator'])
    return {'loss': loss, 'ppl': math.exp(loss)}


@from_configs
class FineWebEduLmWorkload(DecoderLmWorkload):
  """12 layers, width 1,024, 8 heads, context 1,024, GPT-2 vocabulary (252,815,372 params).

  `data_dir` holds `train.bin` and `val.bin` (scripts/prepare_data.py finewebedu).
  """

  name = 'finewebedu_lm'
  config = FINEWEBEDU_LM
  dataset = 'FineWeb-Edu sample-10BT, GPT-2 tokens, windows of 1,025 (memory-mapped uint16)'
  num_train_examples = 8_749_870
  num_validation_examples = 100_000
  num_test_examples = 0
  eval_batch_size = 256

  @property
  def num_eval_train_examples(self) -> int:
    return 10_000  # AlgoPerf's fixed subset: the first windows of the training stream

  def check_data(self, data_dir):
    data_check.require(self.name, data_dir, ['train.bin', 'val.bin'],
                       'finewebedu --parquet_dir=...')

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    tokens = input_pipeline.load_tokens(data_dir, split)
    seq_len = self.config.seq_len
    if split == 'train':
      return input_pipeline.train_iterator(tokens, global_batch_size, rng, start_step, seq_len)
    return input_pipeline.eval_iterator(tokens, global_batch_size, self.split_sizes()[split],
                                        seq_len)
