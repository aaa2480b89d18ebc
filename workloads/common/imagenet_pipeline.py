"""ImageNet from TFDS (spec §3.3, §4.3): small named TF ops and the splits built from them.

train: random-resized crop of the JPEG, bicubic resize, random flip (then, for the ViT,
RandAugment on the uint8 image), normalisation on the 0-255 scale; batches drop the
remainder (and, for the ViT, are mixed up). Every random choice is stateless, seeded by the
example's (or batch's) global index folded into the trial's key, and the example order is a
function of (key, epoch), so an iterator started at `start_step` continues exactly where an
interrupted one stopped.
eval: centre crop of `224/256 * min(H, W)`, bicubic resize, normalisation; the last batch is
padded with 'weights' 0.

TensorFlow is imported only when a pipeline is built, and never sees a GPU.
"""

from __future__ import annotations

import functools
import itertools
import tempfile
from collections.abc import Callable, Iterator


from workloads.common import tf_data
from workloads.common.tf_data import import_tf

IMAGENET = 'imagenet2012:5.1.0'
IMAGENET_V2 = 'imagenet_v2/matched-frequency:3.0.0'
MEAN_RGB = (0.485 * 255, 0.456 * 255, 0.406 * 255)
STDDEV_RGB = (0.229 * 255, 0.224 * 255, 0.225 * 255)
CROP_PADDING = 32  # eval: centre crop of image_size / (image_size + 32) of the short side
SHUFFLE_BUFFER_BATCHES = 16
EPOCHS_PER_CHUNK = 10  # train: epochs chained in one tf.data pipeline before the next is built


# --- Ops on one example (TF tensors). ---------------------------------------------------------

def random_crop_window(image_bytes, seed):
  """[y, x, h, w] of a random-resized crop: area 8-100%, aspect 3/4-4/3, 10 attempts."""
  tf = import_tf()
  shape = tf.image.extract_jpeg_shape(image_bytes)
  begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
      shape, bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]), seed=seed,
      min_object_covered=0.1, aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0),
      max_attempts=10, use_image_if_no_bounding_boxes=True)
  return tf.stack([begin[0], begin[1], size[0], size[1]])


def center_crop_window(image_bytes, image_size: int):
  """[y, x, h, w] of the centred square of side `image_size / (image_size + 32) * min(H, W)`."""
  tf = import_tf()
  shape = tf.image.extract_jpeg_shape(image_bytes)
  height, width = shape[0], shape[1]
  side = tf.cast(image_size / (image_size + CROP_PADDING)
                 * tf.cast(tf.minimum(height, width), tf.float32), tf.int32)
  return tf.stack([((height - side) + 1) // 2, ((width - side) + 1) // 2, side, side])


def decode_crop_resize(image_bytes, window, image_size: int):
  """Decodes only `window` of the JPEG and resizes it (bicubic) to `image_size` squared."""
  tf = import_tf()
  image = tf.image.decode_and_crop_jpeg(image_bytes, window, channels=3)
  return tf.image.resize(image, [image_size, image_size], method='bicubic')


def random_resized_crop(image_bytes, seed, image_size: int):
  """The Inception crop; when it returns the whole image, the eval centre crop instead."""
  tf = import_tf()
  window = random_crop_window(image_bytes, seed)
  whole = tf.reduce_all(tf.equal(window[2:], tf.image.extract_jpeg_shape(image_bytes)[:2]))
  window = tf.cond(whole, lambda: center_crop_window(image_bytes, image_size), lambda: window)
  return decode_crop_resize(image_bytes, window, image_size)


def random_flip(image, seed):
  return import_tf().image.stateless_random_flip_left_right(image, seed)


def to_uint8(image):
  tf = import_tf()
  return tf.cast(tf.clip_by_value(image, 0.0, 255.0), tf.uint8)


def normalize(image):
  """(image - mean) / std per channel, on the 0-255 scale."""
  tf = import_tf()
  image = tf.cast(image, tf.float32)
  return (image - tf.constant(MEAN_RGB, shape=[1, 1, 3])) / tf.constant(STDDEV_RGB,
                                                                        shape=[1, 1, 3])


def preprocess_train(image_bytes, seed, image_size: int, randaugment: Callable | None = None):
  """Crop, resize, flip, (RandAugment on uint8), normalise; `seed` is this example's."""
  tf = import_tf()
  crop_seed, flip_seed, augment_seed = tf.unstack(
      tf.random.experimental.stateless_split(seed, 3))
  image = random_flip(random_resized_crop(image_bytes, crop_seed, image_size), flip_seed)
  if randaugment is not None:
    image = randaugment(to_uint8(image), augment_seed)
  return normalize(image)


def preprocess_eval(image_bytes, image_size: int):
  return normalize(decode_crop_resize(image_bytes, center_crop_window(image_bytes, image_size),
                                      image_size))


# --- Ops on one batch. ------------------------------------------------------------------------

def mixup(batch, seed, alpha: float, num_classes: int):
  """One weight l = a / (a + b), a, b ~ Gamma(alpha), for the whole batch: the batch and its
  one-hot labels become l * batch + (1 - l) * (batch rolled by one example)."""
  tf = import_tf()
  gammas = tf.random.stateless_gamma([2], seed, alpha=alpha)
  weight = gammas[0] / tf.reduce_sum(gammas)
  mix = lambda x: weight * x + (1.0 - weight) * tf.roll(x, shift=1, axis=0)
  targets = tf.one_hot(batch['targets'], num_classes, dtype=tf.float32)
  return {'inputs': mix(batch['inputs']), 'targets': mix(targets)}


# --- Splits. ----------------------------------------------------------------------------------

def _builder(name: str, data_dir: str | None):
  """The TFDS builder. Where the data folder has no dataset info (mock data), TFDS makes an
  empty temporary folder it never removes: it is made, and removed, in one of ours."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  import_tf()
  with tempfile.TemporaryDirectory(prefix='avgperf_tfds_') as scratch:
    previous, tempfile.tempdir = tempfile.tempdir, scratch
    try:
      return tfds.builder(name, data_dir=data_dir)
    finally:
      tempfile.tempdir = previous


def _records(builder, split: str, shuffle_seed: int | None, shuffle_buffer: int):
  """Encoded examples of `split`: (bytes, label), files and examples shuffled by the seed."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top

  tf = import_tf()
  shuffle = shuffle_seed is not None
  ds = builder.as_dataset(
      split=split, shuffle_files=shuffle, decoders={'image': tfds.decode.SkipDecoding()},
      read_config=tfds.ReadConfig(shuffle_seed=shuffle_seed, try_autocache=False))
  ds = ds.map(lambda ex: (ex['image'], tf.cast(ex['label'], tf.int32)))
  if shuffle:
    ds = ds.shuffle(shuffle_buffer, seed=shuffle_seed, reshuffle_each_iteration=False)
  return ds


def train_iterator(rng, batch_size: int, start_step: int, *, num_examples: int,
                   image_size: int, data_dir: str | None = None, split: str = 'train',
                   randaugment: Callable | None = None, mixup_alpha: float | None = None,
                   num_classes: int = 1000, dataset: str = IMAGENET) -> Iterator[dict]:
  """Training batches forever, batch k depending only on (rng, k).

  The examples of epoch e are the split shuffled by a seed of (rng, e); the stream of epochs
  is cut into batches. A pipeline covers `EPOCHS_PER_CHUNK` epochs; resuming at `start_step`
  skips (without decoding) the examples of its epoch that come before it.
  """
  tf = import_tf()
  builder = _builder(dataset, data_dir)
  base_seed = tf_data.tf_seed(rng)
  buffer = SHUFFLE_BUFFER_BATCHES * batch_size
  steps_per_chunk = max(1, EPOCHS_PER_CHUNK * num_examples // batch_size)

  def preprocess(index, record):
    image_bytes, label = record
    seed = tf.random.experimental.stateless_fold_in(base_seed, index)
    return {'inputs': preprocess_train(image_bytes, seed, image_size, randaugment),
            'targets': label}

  def mix(step, batch):
    seed = tf.random.experimental.stateless_fold_in(base_seed[::-1], step)
    return mixup(batch, seed, mixup_alpha, num_classes)

  for first in itertools.count(start_step, steps_per_chunk):
    begin, end = first * batch_size, (first + steps_per_chunk) * batch_size
    epochs = range(begin // num_examples, (end - 1) // num_examples + 1)
    records = functools.reduce(
        lambda a, b: a.concatenate(b),
        [_records(builder, split, tf_data.int_seed(rng, e), buffer) for e in epochs])
    ds = records.skip(begin - epochs[0] * num_examples).take(end - begin)
    ds = ds.enumerate(start=begin).map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=True, num_parallel_calls=tf.data.AUTOTUNE)
    if mixup_alpha is not None:
      ds = ds.enumerate(start=first).map(mix, num_parallel_calls=tf.data.AUTOTUNE)
    yield from ds.prefetch(tf.data.AUTOTUNE).as_numpy_iterator()


def eval_iterator(split: str, batch_size: int, num_examples: int, *, image_size: int,
                  data_dir: str | None = None, dataset: str = IMAGENET) -> Iterator[dict]:
  """`num_examples` of `split` once, eval-preprocessed, the last batch padded.

  split: 'eval_train' (the training split in one fixed shuffled order, its first
  `num_examples`), 'validation', or 'test' (ImageNet-v2 matched-frequency).
  """
  tf = import_tf()
  if split == 'test':
    builder, tfds_split, seed = _builder(IMAGENET_V2, data_dir), 'test', None
  elif split == 'eval_train':
    builder, tfds_split, seed = _builder(dataset, data_dir), 'train', 0
  else:
    builder, tfds_split, seed = _builder(dataset, data_dir), split, None
  ds = _records(builder, tfds_split, seed, SHUFFLE_BUFFER_BATCHES * batch_size).take(num_examples)
  ds = ds.map(lambda image, label: {'inputs': preprocess_eval(image, image_size),
                                    'targets': label},
              num_parallel_calls=tf.data.AUTOTUNE)
  ds = ds.batch(batch_size, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
  return tf_data.padded_eval_batches(ds, batch_size, -(-num_examples // batch_size))
