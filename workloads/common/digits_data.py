"""scikit-learn's handwritten digits (1,797 images of 8x8 pixels, 0-16), split once and held
in host memory."""

from __future__ import annotations

import functools

import numpy as np

SPLIT_SIZES = {'train': 1197, 'validation': 300, 'test': 300}


@functools.cache
def load_splits() -> dict[str, dict[str, np.ndarray]]:
  """{'train'|'validation'|'test': {'inputs': (n, 8, 8, 1) float32, 'targets': (n,) int32}}.

  The split is a fixed permutation (seed 0); inputs are scaled to [0, 1] and standardised
  with the training split's mean and standard deviation.
  """
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top

  digits = load_digits()
  order = np.random.default_rng(0).permutation(len(digits.target))
  images = (digits.images[order] / 16.0).astype(np.float32)[..., None]
  labels = digits.target[order].astype(np.int32)
  n_train, n_val = SPLIT_SIZES['train'], SPLIT_SIZES['validation']
  mean, std = images[:n_train].mean(), images[:n_train].std()
  images = (images - mean) / std
  bounds = {'train': (0, n_train), 'validation': (n_train, n_train + n_val),
            'test': (n_train + n_val, len(labels))}
  return {name: {'inputs': images[a:b], 'targets': labels[a:b]}
          for name, (a, b) in bounds.items()}
