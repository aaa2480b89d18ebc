"""scikit-learn's handwritten digits as images for the small image classifiers: upsampled
(bilinear) to the size a model needs, with light augmentation (random shifts) in training.

The splits and standardisation are the digits workload's (train 1,197, validation 300,
test 300).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from workloads.common import batching
from workloads.common.image_classifier import ImageClassifierWorkload
from workloads.common import digits_data

_AUGMENT_KEY = 0xA06  # spawn-key prefix of the augmentation draws (batches use (epoch,))


@functools.cache
def load_splits(size: int) -> dict[str, dict[str, np.ndarray]]:
  """{'train'|'validation'|'test': {'inputs': (n, size, size, 1) float32, 'targets': (n,)}}."""
  from scipy import ndimage  # pylint: disable=g-import-not-at-top

  out = {}
  for name, arrays in digits_data.load_splits().items():
    zoom = size / arrays['inputs'].shape[1]
    inputs = ndimage.zoom(arrays['inputs'], (1, zoom, zoom, 1), order=1, mode='nearest',
                          grid_mode=True)
    out[name] = {'inputs': inputs.astype(np.float32), 'targets': arrays['targets']}
  return out


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
  """Moves each image by up to `max_shift` pixels in each direction, filling with background
  (the smallest pixel value)."""
  n, h, w, _ = images.shape
  s = max_shift
  padded = np.pad(images, ((0, 0), (s, s), (s, s), (0, 0)), constant_values=images.min())
  dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))
  rows = (dy[:, None] + np.arange(h))[:, :, None]
  cols = (dx[:, None] + np.arange(w))[:, None, :]
  return padded[np.arange(n)[:, None, None], rows, cols]


def train_iterator(size: int, batch_size: int, rng, start_step: int = 0,
                   max_shift: int | None = None) -> Iterator[dict[str, np.ndarray]]:
  """Shuffled, shifted batches forever; batch k depends only on (rng, k). The default shift
  is one original pixel (`size // 8`)."""
  max_shift = size // 8 if max_shift is None else max_shift
  seed = batching.numpy_seed(rng)
  batches = batching.train_batches(load_splits(size)['train'], batch_size, rng, start_step)
  for step, batch in enumerate(batches, start_step):
    draw = np.random.default_rng(np.random.SeedSequence(seed.entropy,
                                                        spawn_key=(_AUGMENT_KEY, step)))
    yield {**batch, 'inputs': random_shift(batch['inputs'], max_shift, draw)}


def eval_iterator(size: int, split: str, batch_size: int,
                  num_examples: int) -> Iterator[dict[str, np.ndarray]]:
  """The first `num_examples` of a split ('eval_train': of the training split), padded."""
  arrays = load_splits(size)['train' if split == 'eval_train' else split]
  return batching.eval_batches({k: v[:num_examples] for k, v in arrays.items()}, batch_size)


class DigitsImageWorkload(ImageClassifierWorkload):
  """A small image classifier on upsampled digits (no download, no TensorFlow)."""

  dataset = 'sklearn digits, upsampled (bilinear), random shifts of one original pixel'
  num_train_examples = digits_data.SPLIT_SIZES['train']
  num_validation_examples = digits_data.SPLIT_SIZES['validation']
  num_test_examples = digits_data.SPLIT_SIZES['test']
  eval_batch_size = 300

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    del data_dir  # the data ship with scikit-learn
    size = self.image_shape[0]
    if split == 'train':
      return train_iterator(size, global_batch_size, rng, start_step)
    return eval_iterator(size, split, global_batch_size, self.split_sizes()[split])
