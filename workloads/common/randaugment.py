"""RandAugment on uint8 images in TensorFlow, stateless (spec §4.3).

Each of `num_layers` layers picks one of 16 ops uniformly and applies it at `magnitude` (out
of 10). Rotate, shear and translate flip their sign at random; areas uncovered by a
geometric op and the cutout square are filled with grey (128). The enhance ops blend the
image with a degenerate version, `degenerate + factor * (image - degenerate)`, and follow
PIL's definitions (in particular, Contrast's degenerate image is the mean grey level; the
spec records nothing else about it).

Each op takes and returns a (height, width, 3) uint8 tensor; they are tested one by one.
"""

from __future__ import annotations

import math

from workloads.common.tf_data import import_tf

FILL = 128
MAX_LEVEL = 10.0


# --- Pixel ops. -------------------------------------------------------------------------------

def blend(degenerate, image, factor):
  """degenerate + factor * (image - degenerate), clipped to [0, 255]."""
  tf = import_tf()
  degenerate, image = tf.cast(degenerate, tf.float32), tf.cast(image, tf.float32)
  out = degenerate + factor * (image - degenerate)
  return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)


def autocontrast(image):
  """Per channel, stretches [min, max] to [0, 255] (a flat channel stays as it is)."""
  tf = import_tf()
  x = tf.cast(image, tf.float32)
  lo = tf.reduce_min(x, axis=[0, 1], keepdims=True)
  hi = tf.reduce_max(x, axis=[0, 1], keepdims=True)
  scaled = (x - lo) * 255.0 / tf.maximum(hi - lo, 1.0)
  out = tf.where(hi > lo, scaled, x)
  return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)


def _equalize_channel(channel):
  """PIL's histogram equalisation of one (height, width) uint8 channel."""
  tf = import_tf()
  x = tf.cast(channel, tf.int32)
  hist = tf.histogram_fixed_width(x, [0, 255], nbins=256)
  last_nonzero = tf.gather(hist, tf.reduce_max(tf.where(hist > 0)))
  step = (tf.reduce_sum(hist) - tf.cast(last_nonzero, tf.int32)) // 255

  def equalized():
    lut = (tf.cumsum(hist) + step // 2) // tf.maximum(step, 1)
    lut = tf.clip_by_value(tf.concat([[0], lut[:-1]], 0), 0, 255)
    return tf.gather(lut, x)

  return tf.cast(tf.cond(step > 0, equalized, lambda: x), tf.uint8)


def equalize(image):
  tf = import_tf()
  return tf.stack([_equalize_channel(image[..., c]) for c in range(3)], axis=-1)


def invert(image):
  return 255 - image


def posterize(image, bits: int):
  """Keeps the top `bits` bits of every pixel."""
  tf = import_tf()
  shift = 8 - bits
  return tf.bitwise.left_shift(tf.bitwise.right_shift(image, shift), shift)


def solarize(image, threshold: int):
  """Inverts the pixels at or above `threshold` (at 256, none)."""
  tf = import_tf()
  return tf.where(tf.cast(image, tf.int32) < threshold, image, 255 - image)


def solarize_add(image, addition: int, threshold: int = 128):
  """Adds `addition` (clipped to [0, 255]) to the pixels below `threshold`."""
  tf = import_tf()
  added = tf.cast(tf.clip_by_value(tf.cast(image, tf.int32) + addition, 0, 255), tf.uint8)
  return tf.where(tf.cast(image, tf.int32) < threshold, added, image)


def _grey(image):
  tf = import_tf()
  return tf.image.rgb_to_grayscale(image)  # ITU-R 601-2 luma, as PIL's convert('L')


def color(image, factor):
  tf = import_tf()
  return blend(tf.image.grayscale_to_rgb(_grey(image)), image, factor)


def contrast(image, factor):
  """Blends with a flat image of the mean grey level (PIL's ImageEnhance.Contrast)."""
  tf = import_tf()
  mean = tf.round(tf.reduce_mean(tf.cast(_grey(image), tf.float32)))
  return blend(tf.fill(tf.shape(image), mean), image, factor)


def brightness(image, factor):
  tf = import_tf()
  return blend(tf.zeros_like(image), image, factor)


def sharpness(image, factor):
  """Blends with the image smoothed by [[1,1,1],[1,5,1],[1,1,1]]/13 (border pixels kept)."""
  tf = import_tf()
  x = tf.cast(image, tf.float32)[None]
  kernel = tf.constant([[1, 1, 1], [1, 5, 1], [1, 1, 1]], tf.float32) / 13.0
  kernel = tf.tile(kernel[:, :, None, None], [1, 1, 3, 1])
  smooth = tf.nn.depthwise_conv2d(x, kernel, strides=[1, 1, 1, 1], padding='VALID')[0]
  smooth = tf.round(smooth)
  interior = tf.pad(tf.ones_like(smooth), [[1, 1], [1, 1], [0, 0]])
  degenerate = tf.where(interior > 0, tf.pad(smooth, [[1, 1], [1, 1], [0, 0]]), x[0])
  return blend(degenerate, image, factor)


# --- Geometric ops (nearest neighbour, grey fill). --------------------------------------------

def _transform(image, transform):
  """Output pixel (x, y) takes input ((a0 x + a1 y + a2), (b0 x + b1 y + b2))."""
  tf = import_tf()
  shape = tf.shape(image)
  out = tf.raw_ops.ImageProjectiveTransformV3(
      images=image[None], transforms=tf.cast(tf.reshape(transform, [1, 8]), tf.float32),
      output_shape=shape[:2], fill_value=float(FILL), interpolation='NEAREST',
      fill_mode='CONSTANT')
  return out[0]


def rotate(image, degrees):
  """Rotates about the centre by `degrees` (counter-clockwise)."""
  tf = import_tf()
  angle = degrees * math.pi / 180.0
  h = tf.cast(tf.shape(image)[0], tf.float32) - 1.0
  w = tf.cast(tf.shape(image)[1], tf.float32) - 1.0
  cos, sin = tf.cos(angle), tf.sin(angle)
  x_offset = (w - (cos * w - sin * h)) / 2.0
  y_offset = (h - (sin * w + cos * h)) / 2.0
  return _transform(image, tf.stack([cos, -sin, x_offset, sin, cos, y_offset, 0.0, 0.0]))


def shear_x(image, level):
  tf = import_tf()
  return _transform(image, tf.stack([1.0, level, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]))


def shear_y(image, level):
  tf = import_tf()
  return _transform(image, tf.stack([1.0, 0.0, 0.0, level, 1.0, 0.0, 0.0, 0.0]))


def translate_x(image, pixels):
  """Moves the content right by `pixels`."""
  tf = import_tf()
  return _transform(image, tf.stack([1.0, 0.0, -pixels, 0.0, 1.0, 0.0, 0.0, 0.0]))


def translate_y(image, pixels):
  tf = import_tf()
  return _transform(image, tf.stack([1.0, 0.0, 0.0, 0.0, 1.0, -pixels, 0.0, 0.0]))


def cutout(image, pad_size: int, seed):
  """Greys out the square [cy - pad_size, cy + pad_size) x [cx - ..., ...) (clipped to the
  image) around a uniformly drawn centre."""
  tf = import_tf()
  shape = tf.shape(image)
  centre = tf.random.stateless_uniform([2], seed, minval=0, maxval=tf.int32.max, dtype=tf.int32)
  cy, cx = centre[0] % shape[0], centre[1] % shape[1]
  ys, xs = tf.range(shape[0])[:, None], tf.range(shape[1])[None, :]
  inside = ((ys >= cy - pad_size) & (ys < cy + pad_size)
            & (xs >= cx - pad_size) & (xs < cx + pad_size))
  return tf.where(inside[..., None], tf.cast(FILL, image.dtype), image)


# --- RandAugment. -----------------------------------------------------------------------------

def _ops(magnitude: float, negate, seed):
  """The 16 ops at `magnitude`, as functions of the image. `negate` is a random bool."""
  tf = import_tf()
  m = magnitude / MAX_LEVEL
  sign = tf.where(negate, -1.0, 1.0)
  enhance = m * 1.8 + 0.1
  return [
      autocontrast,
      equalize,
      invert,
      lambda x: rotate(x, sign * m * 30.0),
      lambda x: posterize(x, int(m * 4)),
      lambda x: solarize(x, int(m * 256)),
      lambda x: color(x, enhance),
      lambda x: contrast(x, enhance),
      lambda x: brightness(x, enhance),
      lambda x: sharpness(x, enhance),
      lambda x: shear_x(x, sign * m * 0.3),
      lambda x: shear_y(x, sign * m * 0.3),
      lambda x: translate_x(x, sign * m * 100.0),
      lambda x: translate_y(x, sign * m * 100.0),
      lambda x: cutout(x, int(m * 40), seed),
      lambda x: solarize_add(x, int(m * 110)),
  ]


NUM_OPS = 16


def randaugment(image, seed, num_layers: int = 2, magnitude: float = 10.0):
  """`num_layers` ops, each drawn uniformly from the 16, applied to a uint8 image."""
  tf = import_tf()
  for layer_seed in tf.unstack(tf.random.experimental.stateless_split(seed, num_layers)):
    op_seed, sign_seed, cutout_seed = tf.unstack(
        tf.random.experimental.stateless_split(layer_seed, 3))
    index = tf.random.stateless_uniform([], op_seed, maxval=NUM_OPS, dtype=tf.int32)
    negate = tf.random.stateless_uniform([], sign_seed) < 0.5
    branches = [lambda op=op: op(image) for op in _ops(magnitude, negate, cutout_seed)]
    image = tf.ensure_shape(tf.switch_case(index, branches), image.shape)
  return image
