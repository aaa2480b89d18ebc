"""librispeech_conformer: the model's size and parts, the front end, SpecAugment, batch norm,
CTC loss, greedy decoding and WER, each against an independent computation."""

import itertools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from avgperf import spec
from workloads import registry
from workloads.librispeech_conformer import ctc, frontend, specaugment
from workloads.librispeech_conformer.model import BatchNorm


def _count(tree) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


def test_parameter_count_and_tree_match_the_spec():
  """32,321,792 params and 4,096 statistics (spec §5.2), computed without allocating."""
  params, stats = registry.get('librispeech_conformer').abstract_init()
  assert (_count(params), _count(stats)) == (32_321_792, 4_096)
  assert {k: _count(v) for k, v in params.items()} == {
      'Subsample_0': 7_608_320, 'ConformerBlock_0': 6_046_784, 'ConformerBlock_1': 6_046_784,
      'ConformerBlock_2': 6_046_784, 'ConformerBlock_3': 6_046_784, 'LayerNorm_0': 1_024,
      'Dense_0': 525_312}
  sub = params['Subsample_0']
  assert [_count(sub[k]) for k in ('Conv2dSubsampling_0', 'Conv2dSubsampling_1', 'Dense_0')] == [
      5_120, 2_359_808, 5_243_392]
  block = params['ConformerBlock_2']
  assert {k: _count(v) for k, v in block.items()} == {
      'FeedForwardModule_0': 2_100_736, 'FeedForwardModule_1': 2_100_736,
      'MultiHeadedSelfAttention_0': 1_051_712, 'ConvolutionBlock_0': 792_576,
      'LayerNorm_0': 1_024}
  attention = block['MultiHeadedSelfAttention_0']['MultiHeadDotProductAttention_0']
  assert attention['QueryScaler_0']['scale'].shape == (64,)
  assert attention['query']['kernel'].shape == (512, 8, 64)
  conv = block['ConvolutionBlock_0']
  assert conv['Conv_0']['kernel'].shape == (5, 1, 512)  # depthwise, no bias
  assert set(conv['BatchNorm_0']) == {'scale', 'bias'}
  assert {k: v.shape for k, v in stats['ConformerBlock_0']['ConvolutionBlock_0'][
      'BatchNorm_0'].items()} == {'mean': (512,), 'var': (512,)}
  assert params['Dense_0']['kernel'].shape == (512, 1024)


def test_full_model_output_shapes():
  """320,000 samples -> 1,998 frames -> 500 encoder steps of 1,024 logits (abstractly)."""
  workload = registry.get('librispeech_conformer')
  params, stats = workload.abstract_init()
  batch = {'inputs': jax.ShapeDtypeStruct((2, 320_000), jnp.float32),
           'input_paddings': jax.ShapeDtypeStruct((2, 320_000), jnp.float32)}
  (logits, paddings), _ = jax.eval_shape(
      lambda p, s, b: workload.model_fn(p, b, s, spec.ForwardPassMode.EVAL, None, False),
      params, stats, batch)
  assert logits.shape == (2, 500, 1024) and paddings.shape == (2, 500)
  assert frontend.num_frames(320_000) == 1_998


def test_log_mel_matches_tensorflow_signal():
  """Framing, pre-emphasis, window, power spectrum and mel filters against tf.signal."""
  tf = pytest.importorskip('tensorflow')
  rng = np.random.default_rng(0)
  samples = rng.normal(0, 3000, (2, 4_000)).astype(np.float32)
  paddings = np.zeros_like(samples)
  paddings[1, 2_500:] = 1.0
  features, frame_paddings = frontend.log_mel(jnp.asarray(samples), jnp.asarray(paddings))

  x = samples * 2.0**-15 * (1 - paddings)
  frames = tf.signal.frame(x, 401, 160).numpy()  # (2, 23, 401)
  emphasised = np.concatenate([frames[..., :1] * 0.03,
                               frames[..., 1:400] - 0.97 * frames[..., :399]], axis=-1)
  window = tf.signal.hann_window(400, periodic=True).numpy()
  power = np.abs(np.fft.rfft(emphasised * window, 512, axis=-1))**2
  mel = power @ tf.signal.linear_to_mel_weight_matrix(80, 257, 16_000, 125.0, 7_600.0).numpy()
  expected = (np.log(np.maximum(mel, 1e-5)) - frontend.LIBRISPEECH_MEAN) / frontend.LIBRISPEECH_STD
  np.testing.assert_allclose(features, expected, atol=2e-3)
  assert features.shape == (2, 23, 80)
  # A frame is padding when all its samples are: frames starting at or after 2,500.
  starts = np.arange(23) * 160
  np.testing.assert_array_equal(frame_paddings[1], (starts >= 2_500).astype(np.float32))
  assert not np.any(frame_paddings[0])


def _expected_keep(portions, starts, choose_range, max_length, size, max_ratio):
  """SpecAugment's masks, one mask at a time in a Python loop."""
  keep = np.ones((len(choose_range), size), np.float32)
  for b in range(len(choose_range)):
    for m in range(portions.shape[1]):
      length = int(np.float32(max_length[b]) * portions[b, m])
      length = min(length, max(int(max_ratio * choose_range[b]), 1))
      start = int(starts[b, m] * (choose_range[b] - length + 1))
      keep[b, start:start + length] = 0.0
  return keep


def test_specaugment_masks_follow_their_definition():
  rng = jax.random.PRNGKey(3)
  lengths = np.array([200, 57, 400])
  mask = specaugment.keep_mask(rng, jnp.asarray(lengths), jnp.asarray(lengths * 0.05), 400, 10,
                               0.05)
  length_key, start_key = jax.random.split(rng)
  portions = np.asarray(jax.random.uniform(length_key, (3, 10)))
  starts = np.asarray(jax.random.uniform(start_key, (3, 10)))
  expected = _expected_keep(portions, starts, lengths, lengths * 0.05, 400, 0.05)
  np.testing.assert_array_equal(mask, expected)
  assert np.all(mask[1, 57:] == 1)  # masks stay in the unpadded frames
  assert (1 - mask[0]).sum() <= 10 * 10 and (1 - mask[0]).sum() > 0

  features = jnp.ones((2, 300, 80))
  paddings = jnp.zeros((2, 300))
  out = np.asarray(specaugment.spec_augment(jax.random.PRNGKey(4), features, paddings))
  masked_bins = (out == 0).all(axis=1)  # bins masked at every frame: frequency masks
  assert 0 < masked_bins.sum(axis=1).max() <= 2 * 26
  masked_frames = (out == 0).all(axis=2)
  assert 0 < masked_frames.sum(axis=1).max() <= 10 * 15


def _ctc_forward(log_probs, labels, blank=0):
  """-log p(labels | frames) by the CTC forward algorithm, in log space (numpy)."""
  extended = [blank]
  for label in labels:
    extended += [label, blank]
  alpha = np.full(len(extended), -np.inf)
  alpha[0] = log_probs[0, blank]
  if len(extended) > 1:
    alpha[1] = log_probs[0, extended[1]]
  for t in range(1, len(log_probs)):
    new = np.full_like(alpha, -np.inf)
    for s, label in enumerate(extended):
      paths = [alpha[s]] + ([alpha[s - 1]] if s > 0 else [])
      if s > 1 and label != blank and label != extended[s - 2]:
        paths.append(alpha[s - 2])
      new[s] = np.logaddexp.reduce(paths) + log_probs[t, label]
    alpha = new
  return -np.logaddexp.reduce(alpha[-2:] if len(extended) > 1 else alpha[-1:])


def test_ctc_loss_matches_the_forward_algorithm_with_padding():
  rng = np.random.default_rng(0)
  batch, frames, vocab, max_labels = 4, 12, 6, 5
  logits = rng.normal(size=(batch, frames, vocab)).astype(np.float32)
  frame_lengths, label_lengths = [12, 9, 7, 10], [5, 3, 1, 4]
  labels = np.zeros((batch, max_labels), np.int32)
  labels[0] = [1, 2, 2, 3, 1]  # a repeat needs a blank between
  labels[1, :3] = [5, 4, 5]
  labels[2, :1] = [3]
  labels[3, :4] = [1, 1, 1, 2]
  logit_paddings = (np.arange(frames)[None] >= np.array(frame_lengths)[:, None]).astype(np.float32)
  label_paddings = (np.arange(max_labels)[None] >= np.array(label_lengths)[:, None]).astype(
      np.float32)
  # Garbage beyond each length must not matter.
  logits_noisy = np.where(logit_paddings[..., None] > 0, 100.0, logits)
  out = ctc.ctc_loss((labels, label_paddings), (logits_noisy, logit_paddings))
  log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  expected = [_ctc_forward(log_probs[b, :frame_lengths[b]], labels[b, :label_lengths[b]])
              for b in range(batch)]
  np.testing.assert_allclose(out['per_example'], expected, rtol=1e-4)
  assert float(out['n_valid_examples']) == sum(label_lengths)
  # Targets alone: their padding is where they are 0. Weights zero an example and its tokens.
  weighted = ctc.ctc_loss(labels, (logits_noisy, logit_paddings), jnp.float32([1, 1, 0, 1]))
  np.testing.assert_allclose(weighted['summed'], sum(expected) - expected[2], rtol=1e-4)
  assert float(weighted['n_valid_examples']) == sum(label_lengths) - 1


def test_greedy_decode_collapses_repeats_drops_blanks_and_padding():
  frames = [[1, 1, 0, 1, 2, 2, 0, 3, 3, 4], [0, 0, 5, 5, 5, 0, 0, 0, 0, 0]]
  logits = jax.nn.one_hot(jnp.asarray(frames), 6) * 5.0
  paddings = jnp.asarray([[0] * 8 + [1] * 2, [0] * 10], jnp.float32)
  decoded = np.asarray(ctc.greedy_decode(logits, paddings))
  np.testing.assert_array_equal(decoded, [[1, 1, 2, 3, 0, 0, 0, 0, 0, 0],
                                          [5, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
  assert ctc.unpadded_ids(decoded) == [[1, 1, 2, 3], [5]]


@pytest.mark.parametrize('hypothesis, reference, errors', [
    ('the cat sat', 'the cat sat', 0),
    ('the cat sat', 'the cat sat on', 1),  # a deletion
    ('the bat sat on', 'the cat sat', 2),  # a substitution and an insertion
    ('', 'one two three', 3),
    ('a b c d', '', 4),
    ('sat the cat', 'the cat sat', 2),
    ('kitten', 'sitting', 1),  # words, not characters
])
def test_word_edit_distance_by_hand(hypothesis, reference, errors):
  assert ctc.word_edit_distance(hypothesis.split(), reference.split()) == errors


def test_corpus_wer_sums_errors_over_words_and_counts_padded_rows():
  errors, words = ctc.word_error_sums(['the cat sat', 'a dog', ''],
                                      ['the  cat sat on', 'a big dog', ''])
  # 1 + 1 errors over 4 + 3 words, and the empty (padded-row) reference adds a word.
  assert (errors, words) == (2, 8)
  decode = {1: 'a', 2: 'b', 3: ' '}.get
  hyps = np.array([[1, 3, 2, 0], [2, 0, 0, 0]])
  targets = np.array([[1, 3, 1, 9], [2, 3, 2, 9]])  # 9: after the padding, never decoded
  paddings = np.array([[0, 0, 0, 1], [0, 0, 0, 1]])
  join = lambda ids: ''.join(decode(i) for i in ids)
  assert ctc.corpus_word_errors(join, hyps, targets, paddings) == (2, 4)


def test_batch_norm_uses_valid_frames_and_momentum():
  rng = np.random.default_rng(1)
  x = rng.normal(2.0, 3.0, (2, 6, 4)).astype(np.float32)
  paddings = np.zeros((2, 6), np.float32)
  paddings[1, 4:] = 1.0
  x[1, 4:] = 1e3  # padded frames must not enter the statistics
  bn = BatchNorm(momentum=0.9, epsilon=1e-3)
  variables = bn.init(jax.random.PRNGKey(0), x, paddings, use_running_average=False)
  out, new = bn.apply(variables, x, paddings, use_running_average=False, mutable=['batch_stats'])
  valid = np.concatenate([x[0], x[1, :4]])
  mean, var = valid.mean(0), valid.var(0)
  np.testing.assert_allclose(out[0], (x[0] - mean) / np.sqrt(var + 1e-3), rtol=1e-4, atol=1e-5)
  assert np.all(np.asarray(out)[1, 4:] == 0)
  np.testing.assert_allclose(new['batch_stats']['mean'], 0.1 * mean, rtol=1e-5)
  np.testing.assert_allclose(new['batch_stats']['var'], 0.9 + 0.1 * var, rtol=1e-5)
  running = bn.apply(variables, x, paddings, use_running_average=True)
  np.testing.assert_allclose(running[0], x[0] / np.sqrt(1 + 1e-3), rtol=1e-5)


def test_describe_prints_the_tree_without_allocating(capsys):
  from avgperf import cli  # pylint: disable=g-import-not-at-top

  live_before = sum(x.nbytes for x in jax.live_arrays())
  assert cli.main(['describe', 'librispeech_conformer', '--json']) == 0
  assert sum(x.nbytes for x in jax.live_arrays()) - live_before < 1 << 20
  tree = json.loads(capsys.readouterr().out)
  shapes = tree['params']['shapes']
  assert shapes['Subsample_0/Conv2dSubsampling_1/kernel'] == [3, 3, 512, 512]
  assert shapes['ConformerBlock_3/MultiHeadedSelfAttention_0/MultiHeadDotProductAttention_0/'
                'QueryScaler_0/scale'] == [64]
  assert (tree['params']['total'], tree['model_state']['total']) == (32_321_792, 4_096)


@pytest.mark.parametrize('mode, update, uses_running', [
    (spec.ForwardPassMode.TRAIN, False, True),
    (spec.ForwardPassMode.EVAL, True, False),
    (spec.ForwardPassMode.TRAIN, True, False),
    (spec.ForwardPassMode.EVAL, False, True),
])
def test_model_fn_batch_norm_follows_update_batch_norm(mode, update, uses_running):
  """Running statistics exactly when update_batch_norm is false, whatever the mode; the
  state comes back updated exactly when it is true."""
  workload = registry.get('librispeech_conformer_small')
  params, state = workload.init_model_fn(jax.random.PRNGKey(0))
  batch = next(workload.input_iterator('validation', jax.random.PRNGKey(0), 4))
  odd_state = jax.tree.map(lambda s: s + 3.0, state)  # running statistics far from the batch's
  rng = jax.random.PRNGKey(1)
  run = jax.jit(lambda s: workload.model_fn(params, batch, s, mode, rng,
                                            update_batch_norm=update, dropout_rate=0.0))
  (logits, _), new_state = run(state)
  (odd_logits, _), new_odd_state = run(odd_state)
  # The output depends on the running statistics exactly when it uses them.
  assert np.allclose(logits, odd_logits, atol=1e-5) != uses_running
  momentum = workload.config.batch_norm_momentum
  for old, new, old_odd, new_odd in zip(*map(jax.tree.leaves,
                                             (state, new_state, odd_state, new_odd_state))):
    if update:  # r <- m r + (1 - m) batch statistic
      np.testing.assert_allclose(np.asarray(new_odd) - np.asarray(new), momentum * 3.0, rtol=1e-4)
      assert not np.allclose(new, old)
    else:
      np.testing.assert_array_equal(new, old)
      np.testing.assert_array_equal(new_odd, old_odd)


def test_synthetic_speech_renders_each_character_as_its_template():
  from workloads.librispeech_conformer import small, synthetic  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  config = synthetic.SpeechConfig(noise=0.0, gain=(1.0, 1.0), offset=0.0)
  templates = synthetic.spectral_templates(rng, len(synthetic.ALPHABET), config.num_bins)
  np.testing.assert_allclose(templates.std(1), 1.0, rtol=1e-5)
  features = synthetic.render(rng, 'ab c', templates, config)
  # Without noise each frame is one character's template, held 6-10 frames (3-6 for ' ').
  ids = [int(np.argmin(np.abs(templates - f).sum(1))) for f in features]
  np.testing.assert_allclose(features, templates[ids], atol=1e-6)
  runs = [(synthetic.ALPHABET[i], len(list(g))) for i, g in itertools.groupby(ids)]
  assert [c for c, _ in runs] == list('ab c')
  assert all(6 <= n <= 10 if c != ' ' else 3 <= n <= 6 for c, n in runs)

  split = small.load_splits()['validation']
  text = [small.TOKENIZER.decode(t[p == 0]) for t, p in zip(split['targets'],
                                                            split['target_paddings'])]
  words = [w for t in text for w in t.split(' ')]
  assert all(2 <= len(w) <= 5 and all(a != b for a, b in zip(w, w[1:])) for w in words)
  assert all(2 <= len(t.split(' ')) <= 4 for t in text)
  frames = (split['input_paddings'] == 0).sum(1)
  assert frames.max() <= 128 and np.all(split['inputs'][split['input_paddings'] == 1] == 0)


def test_small_workload_trains_and_evaluates_end_to_end():
  """Synthetic batches through model_fn, the CTC loss, and the WER of an untrained model."""
  workload = registry.get('librispeech_conformer_small')
  params, state = workload.init_model_fn(jax.random.PRNGKey(0))
  batch = next(workload.input_iterator('train', jax.random.PRNGKey(0), 8))
  loss = jax.jit(lambda p: workload.loss_fn(batch['targets'], workload.model_fn(
      p, batch, state, spec.ForwardPassMode.TRAIN, jax.random.PRNGKey(1), True)[0]))(params)
  assert np.isfinite(loss['summed']) and loss['n_valid_examples'] == batch['targets'].astype(
      bool).sum()
  metrics = workload.eval_model_on_split('validation', 256, params, state, jax.random.PRNGKey(2),
                                         None, lambda b: b)
  assert metrics['wer'] >= 0.9 and metrics['ctc_loss'] > 1.0  # untrained
