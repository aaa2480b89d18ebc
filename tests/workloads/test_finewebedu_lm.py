"""finewebedu_lm: RoPE against numpy, attention against an einsum reference, the loss and
perplexity by hand, and the pipeline end to end on token files written here."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from avgperf import spec
from workloads.finewebedu_lm import input_pipeline
from workloads.finewebedu_lm import model as lm_model
from workloads.finewebedu_lm.workload import FineWebEduLmWorkload, token_cross_entropy

TINY = lm_model.DecoderConfig(vocab_size=64, seq_len=16, model_dim=32, num_heads=2,
                              num_layers=2, expanded_model_dim=64, multiple_of=32,
                              compute_dtype=jnp.float32)
END_OF_TEXT = TINY.vocab_size - 1


def _numpy_rope(x: np.ndarray, theta: float) -> np.ndarray:
  """Each pair (x[2i], x[2i+1]) at position t as a complex number, times exp(j t w_i)."""
  head_dim = x.shape[-1]
  positions = np.arange(x.shape[1])[None, :, None, None]
  freqs = theta ** (-2.0 * np.arange(head_dim // 2) / head_dim)
  rotated = (x[..., 0::2] + 1j * x[..., 1::2]) * np.exp(1j * positions * freqs)
  out = np.empty_like(x)
  out[..., 0::2], out[..., 1::2] = rotated.real, rotated.imag
  return out


def test_rope_is_the_interleaved_rotation():
  x = np.random.default_rng(0).normal(size=(2, 40, 3, 16))
  cos, sin = lm_model.rope_tables(64, 16, 500_000.0)
  ours = np.asarray(lm_model.apply_rope(jnp.asarray(x, jnp.float32), cos, sin))
  np.testing.assert_allclose(ours, _numpy_rope(x, 500_000.0), atol=2e-5)
  np.testing.assert_array_equal(ours[:, 0], x[:, 0].astype(np.float32))  # position 0: angle 0
  # Dot products of rotated vectors depend on the distance of positions only.
  ones = jnp.ones((1, 40, 1, 16), jnp.float32)
  r = np.asarray(lm_model.apply_rope(ones, cos, sin))[0, :, 0]
  np.testing.assert_allclose(r[5] @ r[2], r[33] @ r[30], rtol=1e-5)


def _reference_attention(q, k, v):
  """Causal softmax(q k^T) v per head in float64, with scale 1."""
  q, k, v = (np.asarray(t, np.float64) for t in (q, k, v))
  logits = np.einsum('bthd,bshd->bhts', q, k)
  length = q.shape[1]
  logits = np.where(np.tril(np.ones((length, length), bool)), logits, -np.inf)
  weights = np.exp(logits - logits.max(-1, keepdims=True))
  weights /= weights.sum(-1, keepdims=True)
  return np.einsum('bhts,bshd->bthd', weights, v)


@pytest.mark.parametrize('dtype, atol', [(jnp.float32, 1e-5), (jnp.bfloat16, 3e-2)])
def test_backend_chosen_attention_matches_einsum_reference(dtype, atol):
  keys = jax.random.split(jax.random.PRNGKey(0), 3)
  # Unit-norm q and k times a scale of ~20, as after QK-norm: sharp attention patterns.
  q, k, v = (jax.random.normal(key, (2, 24, 4, 32)) for key in keys)
  q = 20 * q / jnp.linalg.norm(q, axis=-1, keepdims=True)
  k = k / jnp.linalg.norm(k, axis=-1, keepdims=True)
  q, k, v = (t.astype(dtype) for t in (q, k, v))
  out = lm_model.causal_attention(q, k, v)
  assert out.dtype == dtype
  np.testing.assert_allclose(np.asarray(out, np.float64), _reference_attention(q, k, v),
                             atol=atol)


def test_attention_implementation_follows_the_backend(monkeypatch):
  assert lm_model.attention_implementation(jnp.bfloat16) == (
      'cudnn' if jax.default_backend() == 'gpu' else 'xla')
  monkeypatch.setattr(jax, 'default_backend', lambda: 'gpu')
  assert lm_model.attention_implementation(jnp.bfloat16) == 'cudnn'
  assert lm_model.attention_implementation(jnp.float16) == 'cudnn'
  assert lm_model.attention_implementation(jnp.float32) == 'xla'
  monkeypatch.setattr(jax, 'default_backend', lambda: 'tpu')
  assert lm_model.attention_implementation(jnp.bfloat16) == 'xla'


@pytest.mark.skipif(jax.default_backend() == 'gpu', reason='cuDNN runs here')
def test_cudnn_asked_for_where_it_cannot_run_falls_back_to_xla():
  q, k, v = (jax.random.normal(key, (1, 8, 2, 16), jnp.bfloat16)
             for key in jax.random.split(jax.random.PRNGKey(1), 3))
  out = lm_model.causal_attention(q, k, v, implementation='cudnn')
  np.testing.assert_array_equal(out, lm_model.causal_attention(q, k, v, implementation='xla'))


@pytest.mark.skipif(jax.default_backend() != 'gpu', reason='cuDNN attention needs a GPU')
def test_cudnn_and_xla_attention_agree_on_gpu():
  q, k, v = (jax.random.normal(key, (4, 256, 8, 128)).astype(jnp.bfloat16)
             for key in jax.random.split(jax.random.PRNGKey(2), 3))
  q = 20 * q / jnp.linalg.norm(q.astype(jnp.float32), axis=-1, keepdims=True)
  k = k / jnp.linalg.norm(k.astype(jnp.float32), axis=-1, keepdims=True)
  q, k = q.astype(jnp.bfloat16), k.astype(jnp.bfloat16)
  cudnn = jax.jit(lambda *a: lm_model.causal_attention(*a, implementation='cudnn'))(q, k, v)
  xla = lm_model.causal_attention(q, k, v, implementation='xla')
  np.testing.assert_allclose(np.asarray(cudnn, np.float32), np.asarray(xla, np.float32),
                             atol=2e-2)
  np.testing.assert_allclose(np.asarray(xla, np.float64), _reference_attention(q, k, v),
                             atol=3e-2)


def test_token_cross_entropy_by_hand_with_smoothing_and_mask():
  rng = np.random.default_rng(3)
  logits = rng.normal(size=(3, 5, 7)).astype(np.float32)
  labels = rng.integers(0, 7, size=(3, 5)).astype(np.int32)
  mask = (rng.random((3, 5)) < 0.6).astype(np.float32)
  logits[mask == 0] = 1e4  # a masked token's logits never reach the sums
  out = token_cross_entropy(labels, logits, mask, label_smoothing=0.1)
  smoothed = optax.smooth_labels(jax.nn.one_hot(labels, 7), 0.1)
  expected = np.asarray(optax.softmax_cross_entropy(logits, smoothed)) * mask
  np.testing.assert_allclose(out['per_example'], expected, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(float(out['summed']), expected.sum(), rtol=1e-5)
  assert float(out['n_valid_examples']) == mask.sum()
  unmasked = token_cross_entropy(labels, logits[:, :, :], None)
  assert unmasked['n_valid_examples'] == 15


class _TinyLm(FineWebEduLmWorkload):
  """The full workload's code with a tiny model and splits of a few windows."""

  config = TINY
  num_validation_examples = 10
  num_eval_train_examples = 6
  eval_batch_size = 4


def _write_documents(folder, seed: int, num_documents: int) -> np.ndarray:
  """A few 'tokenised documents' (ids < 63, each ended by 63) -> train.bin and val.bin."""
  rng = np.random.default_rng(seed)
  streams = {}
  for name in ('train.bin', 'val.bin'):
    docs = [np.append(rng.integers(0, END_OF_TEXT, rng.integers(5, 60)), END_OF_TEXT)
            for _ in range(num_documents)]
    streams[name] = np.concatenate(docs).astype('<u2')
    streams[name].tofile(folder / name)
  return streams


def test_windows_are_consecutive_shifted_and_padded(tmp_path):
  streams = _write_documents(tmp_path, 0, 8)
  w = _TinyLm()
  batches = list(w.input_iterator('validation', jax.random.PRNGKey(0), 4, str(tmp_path)))
  assert [b['inputs'].shape for b in batches] == [(4, 16)] * 3
  inputs = np.concatenate([b['inputs'] for b in batches])
  targets = np.concatenate([b['targets'] for b in batches])
  weights = np.concatenate([b['weights'] for b in batches])
  stream = streams['val.bin'].astype(np.int32)
  for i in range(10):
    np.testing.assert_array_equal(inputs[i], stream[17 * i:17 * i + 16])
    np.testing.assert_array_equal(targets[i], stream[17 * i + 1:17 * i + 17])
  assert np.all(inputs[10:] == -1) and np.all(targets[10:] == -1)
  np.testing.assert_array_equal(weights, np.repeat([1.0] * 10 + [0.0] * 2, 16).reshape(12, 16))
  assert inputs.dtype == np.int32 and weights.dtype == np.float32
  eval_train = list(w.input_iterator('eval_train', jax.random.PRNGKey(0), 4, str(tmp_path)))
  np.testing.assert_array_equal(eval_train[0]['inputs'][0], streams['train.bin'][:16])
  assert sum(b['weights'].sum() for b in eval_train) == 6 * 16


def test_training_windows_are_a_permutation_per_epoch_and_resume_exactly(tmp_path):
  streams = _write_documents(tmp_path, 1, 12)
  w = _TinyLm()
  rows = input_pipeline.windows(streams['train.bin'], 16)
  n = len(rows)
  it = w.input_iterator('train', jax.random.PRNGKey(0), 4, str(tmp_path))
  batches = [next(it) for _ in range(n // 4)]
  assert 'weights' not in batches[0]  # every training token counts
  seen = np.concatenate([np.concatenate([b['inputs'], b['targets'][:, -1:]], axis=1)
                         for b in batches])
  np.testing.assert_array_equal(seen[:, 1:-1], np.concatenate([b['targets'][:, :-1]
                                                               for b in batches]))
  # n // 4 batches of one epoch: distinct windows, each a window of the stream.
  assert {tuple(r) for r in seen} <= {tuple(r) for r in rows.astype(np.int32)}
  assert len({tuple(r) for r in seen}) == len(seen) == 4 * (n // 4)
  resumed = w.input_iterator('train', jax.random.PRNGKey(0), 4, str(tmp_path), start_step=2)
  np.testing.assert_array_equal(next(resumed)['inputs'], batches[2]['inputs'])


def test_perplexity_is_exp_of_the_mean_token_loss_without_padding(tmp_path):
  """eval_model through model_fn, the loss and the metric, against float64 numpy on the
  real windows only (the padding's 2 windows of id -1 must not count)."""
  streams = _write_documents(tmp_path, 2, 8)
  w = _TinyLm()
  params, state = w.init_model_fn(jax.random.PRNGKey(0))
  params = jax.tree.map(lambda p: p * 8, params)  # a model that is not near-uniform
  metrics = w.eval_model(params, state, jax.random.PRNGKey(0), str(tmp_path))
  for split, stream, n in (('validation', streams['val.bin'], 10),
                           ('train', streams['train.bin'], 6)):
    rows = input_pipeline.windows(stream, 16)[:n].astype(np.int32)
    logits, _ = w.model_fn(params, {'inputs': rows[:, :-1]}, state,
                           spec.ForwardPassMode.EVAL, None, False)
    logits = np.asarray(logits, np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    token_loss = -np.take_along_axis(log_probs, rows[:, 1:, None], -1)
    assert metrics[f'{split}/loss'] == pytest.approx(token_loss.mean(), rel=1e-5)
    assert metrics[f'{split}/ppl'] == pytest.approx(math.exp(token_loss.mean()), rel=1e-5)
    assert metrics[f'{split}/ppl'] > 2  # the scaled model is far from its start
  assert 'test/ppl' not in metrics  # no test split
  assert w.finalize_metrics(None, 0) == {'loss': 0.0, 'ppl': 1.0}


def test_bfloat16_compute_keeps_float32_params_and_trains(tmp_path):
  _write_documents(tmp_path, 3, 8)

  class Bf16(_TinyLm):
    config = lm_model.DecoderConfig(**{**TINY.__dict__, 'compute_dtype': jnp.bfloat16})

  w = Bf16()
  params, state = w.init_model_fn(jax.random.PRNGKey(0))
  dtypes = {str(p.dtype) for p in jax.tree.leaves(params)}
  assert dtypes == {'float32', 'bfloat16'}  # attn_scale only is bfloat16 (spec §13.8)
  assert params['blocks_0']['CausalAttn_0']['attn_scale'] == pytest.approx(math.log2(16 * 15))
  batch = next(w.input_iterator('train', jax.random.PRNGKey(0), 4, str(tmp_path)))

  def loss(p):
    logits, _ = w.model_fn(p, batch, state, spec.ForwardPassMode.TRAIN, None, True)
    assert logits.dtype == jnp.bfloat16
    out = w.loss_fn(batch['targets'], logits, None, 0.1)
    return out['summed'] / out['n_valid_examples']

  tx = optax.adam(1e-2)

  @jax.jit
  def step(params, opt_state):
    value, grads = jax.value_and_grad(loss)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value, grads

  opt_state = tx.init(params)
  losses = []
  for _ in range(6):
    params, opt_state, value, grads = step(params, opt_state)
    losses.append(float(value))
  assert grads['embed']['embedding'].dtype == jnp.float32
  assert losses[-1] < losses[0] - 0.1


def test_initialisers_are_the_specified_ones():
  """Spec §10.1: normal(0.02) for the embedding, q, k, v and the MLP's up-projection,
  normal(0.02 / sqrt(2 * layers)) for the two projections into the residual stream, ones for
  the RMSNorm scales, log2(L^2 - L) for the attention scale; no biases."""
  cfg = lm_model.DecoderConfig(vocab_size=512, seq_len=64, model_dim=128, num_heads=4,
                               num_layers=3, expanded_model_dim=512)
  params = jax.jit(lm_model.Decoder(cfg).init)(jax.random.PRNGKey(0),
                                               jnp.ones((1, 64), jnp.int32))['params']
  block = params['blocks_1']
  stds = {'embed': params['embed']['embedding'], 'q': block['CausalAttn_0']['query']['kernel'],
          'k': block['CausalAttn_0']['key']['kernel'],
          'v': block['CausalAttn_0']['value']['kernel'],
          'up': block['Mlp_0']['Dense_0']['kernel']}
  for name, x in stds.items():
    assert np.std(x) == pytest.approx(0.02, rel=0.03), name
  residual = 0.02 / math.sqrt(6)
  assert np.std(block['CausalAttn_0']['attn_out_proj']['kernel']) == pytest.approx(residual,
                                                                                  rel=0.03)
  assert np.std(block['Mlp_0']['Dense_1']['kernel']) == pytest.approx(residual, rel=0.03)
  for scale in (block['RMSNorm_0']['scale'], block['RMSNorm_1']['scale'],
                params['out_ln']['scale']):
    np.testing.assert_array_equal(scale, 1.0)
  assert float(block['CausalAttn_0']['attn_scale']) == pytest.approx(math.log2(64 * 63),
                                                                      abs=0.07)
  names = {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]}
  assert not [n for n in names if 'bias' in n]
  assert block['Mlp_0']['Dense_0']['kernel'].shape == (128, 1024)  # 2 x hidden 512


def test_scored_and_stopped_at_the_leaderboard_target():
  from configs import workloads as workload_configs  # pylint: disable=g-import-not-at-top
  from scoring import rules  # pylint: disable=g-import-not-at-top

  targets = workload_configs.FINEWEBEDU_LM_TARGETS
  assert targets == {'workload_file': 22.432, 'leaderboard': 22.2995}
  assert rules.preset('v0.6').workloads['finewebedu_lm'].validation_target == 22.2995
  w = FineWebEduLmWorkload()
  assert (w.validation_target_value, w.target_metric_mode) == (22.2995, 'min')
  assert w.has_reached_validation_target({'validation/ppl': 22.2995})
  assert not w.has_reached_validation_target({'validation/ppl': 22.4})  # under 22.432 only
  assert w.has_reached_test_target({})  # no test split, no test target
