"""Loss and metric of the image-classification workloads."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from avgperf import spec


def softmax_cross_entropy(label_batch, logits_batch, mask_batch=None,
                          label_smoothing: float = 0.0) -> spec.LossFnOutput:
  """Cross-entropy, the labels smoothed as `(1 - a) * onehot + a / classes`.

  Integer labels are made one-hot; labels that already have a class axis (one-hot, or soft as
  after mixup) are used as they are.
  """
  num_classes = logits_batch.shape[-1]
  if label_batch.ndim == logits_batch.ndim:
    one_hot = label_batch.astype(logits_batch.dtype)
  else:
    one_hot = jax.nn.one_hot(label_batch, num_classes, dtype=logits_batch.dtype)
  smoothed = optax.smooth_labels(one_hot, label_smoothing)
  per_example = optax.softmax_cross_entropy(logits_batch, smoothed)
  if mask_batch is None:
    mask_batch = jnp.ones_like(per_example)
  per_example = per_example * mask_batch
  return {'summed': per_example.sum(), 'n_valid_examples': mask_batch.sum(),
          'per_example': per_example}


class ClassificationWorkload(spec.Workload):
  """A workload whose metric is top-1 accuracy and whose loss is softmax cross-entropy."""

  target_metric_name = 'accuracy'
  target_metric_mode = 'max'
  loss_type = spec.LossType.SOFTMAX_CROSS_ENTROPY
  num_classes: int = 10
  input_shape: tuple[int, ...] = ()  # of one example

  def synthetic_batch(self, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    return {'inputs': rng.normal(size=(batch_size, *self.input_shape)).astype(np.float32),
            'targets': rng.integers(0, self.num_classes, batch_size).astype(np.int32),
            'weights': np.ones(batch_size, np.float32)}

  def loss_fn(self, label_batch, logits_batch, mask_batch=None, label_smoothing=0.0):
    return softmax_cross_entropy(label_batch, logits_batch, mask_batch, label_smoothing)

  def eval_batch(self, params, model_state, batch, rng):
    logits, _ = self.model_fn(params, batch, model_state, spec.ForwardPassMode.EVAL, rng,
                              update_batch_norm=False)
    weights = batch['weights']
    loss = self.loss_fn(batch['targets'], logits, weights)['summed']
    correct = (jnp.argmax(logits, axis=-1) == batch['targets']) * weights
    return {'accuracy': correct.sum(), 'loss': loss}
