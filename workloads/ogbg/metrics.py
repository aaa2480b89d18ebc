"""Loss and metrics of ogbg (spec §6.4): masked sigmoid cross-entropy over tasks, and the
mean average precision of the OGB scheme, computed on the host from all of a split's rows."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax

from avgperf import spec


def sigmoid_cross_entropy(label_batch, logits_batch, mask_batch=None,
                          label_smoothing: float = 0.0) -> spec.LossFnOutput:
  """Per (graph, task) binary cross-entropy, masked; a mean over valid labels once divided.

  As AlgoPerf: masked labels are set to -1 before smoothing (they are zeroed after), and the
  smoothing is `optax.smooth_labels` over the task axis, y (1 - a) + a / num_tasks
  (spec §13.4). Without a mask every label counts.
  """
  if mask_batch is None:
    mask_batch = jnp.ones_like(logits_batch)
  labels = jnp.where(mask_batch > 0, label_batch, -1.0)
  labels = optax.smooth_labels(labels, label_smoothing)
  # log(1 + exp(-|x|)) + max(x, 0) - x y: TensorFlow's stable sigmoid_cross_entropy_with_logits
  losses = (jnp.maximum(logits_batch, 0) - logits_batch * labels
            + jnp.log1p(jnp.exp(-jnp.abs(logits_batch))))
  per_example = jnp.where(mask_batch > 0, losses, 0.0)
  return {'summed': per_example.sum(), 'n_valid_examples': mask_batch.sum(),
          'per_example': per_example}


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
  """scikit-learn's `average_precision_score` for one task: sum over score thresholds, high
  to low, of (recall gained) x precision, tied scores forming one threshold."""
  order = np.argsort(-scores)  # the order within ties does not matter: they are one threshold
  labels, scores = labels[order], scores[order]
  last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
  true_positives = np.cumsum(labels)[last_of_tie]
  precision = true_positives / (last_of_tie + 1)
  recall_gain = np.diff(np.r_[0, true_positives]) / true_positives[-1]
  return float(np.sum(recall_gain * precision))


def mean_average_precision(probabilities: np.ndarray, labels: np.ndarray,
                           mask: np.ndarray) -> float:
  """The OGB mean average precision over tasks (the columns), as AlgoPerf computes it.

  A task counts when its label column, rows without a label included (their label is 0, as
  on padding graphs), holds both a 0 and a 1 (spec §13.4: since every AlgoPerf batch has a
  padding graph, this is every task with a labelled positive). Its AP is taken over the
  labelled rows only. mAP is the mean over counted tasks, NaN when none counts.
  """
  counted = np.any(labels == 0, axis=0) & np.any(labels == 1, axis=0)
  # one contiguous row per task: columns of a (graphs, tasks) array are slow to gather
  by_task = zip(np.asarray(labels.T[counted] == 1), np.asarray(probabilities.T[counted]),
                np.asarray(mask.T[counted] > 0))
  precisions = [average_precision(y[rows], p[rows]) for y, p, rows in by_task]
  return float(np.mean(precisions)) if precisions else float('nan')
