"""CTC loss with padding masks, greedy CTC decoding, and word error rate (spec §5.4).

Token id 0 is the CTC blank and the target padding value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

BLANK_ID = 0


def ctc_loss(label_batch, logits_batch, mask_batch=None) -> dict[str, jax.Array]:
  """The workload's `loss_fn`: CTC loss summed over utterances, per target token.

  Args:
    label_batch: (targets (B, L) int, target_paddings (B, L)), AlgoPerf's form; or the
      targets alone, whose padding is then where they equal 0 (the blank, which no
      tokenised transcript contains).
    logits_batch: (logits (B, T, V), logit_paddings (B, T)), as the model returns them.
    mask_batch: optional (B,) example weights (0 on padded eval rows or held-out examples).

  Returns:
    'per_example': (B,) CTC losses (weighted); 'summed': their sum; 'n_valid_examples':
    max(1, the number of unpadded target tokens of weighted examples), so that
    summed / n_valid_examples is the loss per target token, as AlgoPerf normalises it.
  """
  if isinstance(label_batch, (tuple, list)):
    targets, target_paddings = label_batch
  else:
    targets = label_batch
    target_paddings = (targets == BLANK_ID).astype(jnp.float32)
  logits, logit_paddings = logits_batch
  per_example = optax.ctc_loss(jax.nn.log_softmax(logits), logit_paddings,
                               targets.astype(jnp.int32), target_paddings, blank_id=BLANK_ID)
  tokens = 1.0 - target_paddings
  if mask_batch is not None:
    per_example = per_example * mask_batch
    tokens = tokens * mask_batch[:, None]
  return {'summed': per_example.sum(), 'n_valid_examples': jnp.maximum(tokens.sum(), 1.0),
          'per_example': per_example}


def greedy_decode(logits: jax.Array, paddings: jax.Array) -> jax.Array:
  """Greedy CTC decoding: per-frame argmax over valid frames, repeats collapsed, blanks
  removed, the result left-packed into (B, T) with 0 after the last token."""
  ids = jnp.argmax(logits, axis=-1).astype(jnp.int32)
  batch, frames = ids.shape
  previous = jnp.pad(ids[:, :-1], ((0, 0), (1, 0)), constant_values=-1)
  keep = (ids != previous) & (ids != BLANK_ID) & (paddings < 0.5)
  position = jnp.where(keep, jnp.cumsum(keep, axis=1) - 1, frames)  # `frames` is dropped
  rows = jnp.broadcast_to(jnp.arange(batch)[:, None], ids.shape)
  return jnp.zeros_like(ids).at[rows, position].set(ids, mode='drop')


def word_edit_distance(hypothesis: Sequence[str], reference: Sequence[str]) -> int:
  """Levenshtein distance between two word sequences (insert, delete, substitute: 1 each)."""
  previous = list(range(len(reference) + 1))
  for i, word in enumerate(hypothesis, 1):
    current = [i]
    for j, ref_word in enumerate(reference, 1):
      current.append(min(previous[j] + 1, current[j - 1] + 1,
                         previous[j - 1] + (word != ref_word)))
    previous = current
  return previous[-1]


def word_errors(hypothesis: str, reference: str) -> tuple[int, int]:
  """(word edit distance, reference word count) of one utterance.

  The reference's whitespace is normalised and its words counted as `len(ref.split(' '))`,
  so an empty reference counts one word, as in AlgoPerf: a padded eval row (empty
  reference, empty hypothesis) adds a word to the denominator (spec §13.9).
  """
  reference = ' '.join(reference.split())
  return word_edit_distance(hypothesis.split(), reference.split()), len(reference.split(' '))


def unpadded_ids(ids: np.ndarray, paddings: np.ndarray | None = None) -> list[list[int]]:
  """Each row's ids before its padding: the first `count(paddings == 0)` ids, or with no
  paddings given (decoded hypotheses), the ids before the first 0."""
  if paddings is None:
    lengths = np.where((ids == BLANK_ID).any(1), (ids == BLANK_ID).argmax(1), ids.shape[1])
  else:
    lengths = np.sum(np.asarray(paddings) == 0, axis=1)
  return [row[:n].tolist() for row, n in zip(np.asarray(ids), lengths)]


def word_error_sums(hypotheses: Iterable[str], references: Iterable[str]) -> tuple[int, int]:
  """(Σ word errors, Σ reference words) over a corpus; WER is their ratio."""
  errors = words = 0
  for hypothesis, reference in zip(hypotheses, references, strict=True):
    e, n = word_errors(hypothesis, reference)
    errors += e
    words += n
  return errors, words


def corpus_word_errors(decode: Callable[[list[int]], str], hypothesis_ids: np.ndarray,
                       target_ids: np.ndarray, target_paddings: np.ndarray) -> tuple[int, int]:
  """Word-error sums of decoded hypotheses (left-packed, 0 after) against padded targets,
  both detokenised with `decode` (ids -> text)."""
  hypotheses = [decode(ids) for ids in unpadded_ids(hypothesis_ids)]
  references = [decode(ids) for ids in unpadded_ids(target_ids, target_paddings)]
  return word_error_sums(hypotheses, references)
