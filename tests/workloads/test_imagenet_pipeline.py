"""The ImageNet pipeline on TFDS mock data: its ops one by one (eagerly and inside tf.data),
exact resume, mixup, padded eval splits, and ResNet-50 and ViT-S/16 end to end."""

import jax
import numpy as np
import pytest

tf = pytest.importorskip('tensorflow')
tfds = pytest.importorskip('tensorflow_datasets')

from avgperf import spec  # pylint: disable=g-import-not-at-top
from workloads import registry  # pylint: disable=g-import-not-at-top
from workloads.common import imagenet_pipeline as ip  # pylint: disable=g-import-not-at-top
from workloads.common import randaugment as ra  # pylint: disable=g-import-not-at-top

NUM_MOCK = 8


def _jpeg(height, width, value=None, seed=0):
  rng = np.random.default_rng(seed)
  pixels = (np.full((height, width, 3), value, np.uint8) if value is not None
            else rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
  return tf.io.encode_jpeg(pixels, quality=100)


def _image(seed=0, shape=(40, 50, 3), low=0, high=256):
  return tf.constant(np.random.default_rng(seed).integers(low, high, shape, dtype=np.uint8))


def test_eval_crop_window_and_normalisation_constants():
  window = ip.center_crop_window(_jpeg(300, 200), 224).numpy()
  side = int(224 / 256 * 200)  # 175
  assert window.tolist() == [(300 - side + 1) // 2, (200 - side + 1) // 2, side, side]
  out = ip.preprocess_eval(_jpeg(300, 200, value=255), 224).numpy()
  assert out.shape == (224, 224, 3)
  expected = (255 - np.float32([0.485, 0.456, 0.406]) * 255) / (np.float32([0.229, 0.224, 0.225])
                                                                * 255)
  np.testing.assert_allclose(out.reshape(-1, 3).mean(0), expected, rtol=1e-3)


def test_random_resized_crop_is_seeded_and_in_range():
  image = _jpeg(120, 90)
  seeds = [tf.constant([i, 7], tf.int64) for i in range(20)]
  windows = np.stack([ip.random_crop_window(image, s).numpy() for s in seeds])
  area = windows[:, 2] * windows[:, 3] / (120 * 90)
  assert np.all(area >= 0.08 - 0.02) and np.all(area <= 1.0)
  assert len({tuple(w) for w in windows}) > 10
  np.testing.assert_array_equal(ip.random_crop_window(image, seeds[3]), windows[3])
  out = ip.preprocess_train(image, seeds[0], 64)
  assert out.shape == (64, 64, 3) and out.dtype == tf.float32


OPS = {
    'autocontrast': ra.autocontrast, 'equalize': ra.equalize, 'invert': ra.invert,
    'rotate': lambda x: ra.rotate(x, 30.0), 'posterize': lambda x: ra.posterize(x, 4),
    'solarize': lambda x: ra.solarize(x, 128), 'color': lambda x: ra.color(x, 1.9),
    'contrast': lambda x: ra.contrast(x, 1.9), 'brightness': lambda x: ra.brightness(x, 1.9),
    'sharpness': lambda x: ra.sharpness(x, 1.9), 'shear_x': lambda x: ra.shear_x(x, 0.3),
    'shear_y': lambda x: ra.shear_y(x, -0.3), 'translate_x': lambda x: ra.translate_x(x, 10.0),
    'translate_y': lambda x: ra.translate_y(x, -10.0),
    'cutout': lambda x: ra.cutout(x, 8, tf.constant([1, 2], tf.int64)),
    'solarize_add': lambda x: ra.solarize_add(x, 110),
}


@pytest.mark.parametrize('name', sorted(OPS))
def test_randaugment_op_eagerly_and_inside_tf_data(name):
  image = _image(low=30, high=200)  # not the full range, so that autocontrast acts
  eager = OPS[name](image)
  assert eager.dtype == tf.uint8 and eager.shape == image.shape
  in_loader = next(iter(tf.data.Dataset.from_tensors(image).map(OPS[name])))
  np.testing.assert_array_equal(eager, in_loader)
  assert not np.array_equal(eager, image)  # every op changes a random image


def test_randaugment_op_semantics():
  x = _image().numpy().astype(np.int32)
  np.testing.assert_array_equal(ra.invert(_image()), 255 - x)
  np.testing.assert_array_equal(ra.posterize(_image(), 4), x & 0xF0)
  np.testing.assert_array_equal(ra.solarize(_image(), 256), x)  # magnitude 10: a no-op
  np.testing.assert_array_equal(ra.solarize(_image(), 100), np.where(x < 100, x, 255 - x))
  np.testing.assert_array_equal(ra.solarize_add(_image(), 110),
                                np.where(x < 128, np.minimum(x + 110, 255), x))
  np.testing.assert_array_equal(ra.brightness(_image(), 1.0), x)
  np.testing.assert_array_equal(ra.brightness(_image(), 0.5), np.round(x * 0.5))
  moved = ra.translate_x(_image(), 5.0).numpy()
  np.testing.assert_array_equal(moved[:, 5:], x[:, :-5])
  assert np.all(moved[:, :5] == ra.FILL)
  cut = ra.cutout(_image(), 8, tf.constant([3, 4], tf.int64)).numpy()
  assert 0 < (cut != x).any(-1).sum() <= 16 * 16
  stretched = ra.autocontrast(tf.constant(np.uint8([[[50, 60, 70]], [[100, 60, 90]]]))).numpy()
  assert stretched[:, 0, 0].tolist() == [0, 255] and stretched[:, 0, 1].tolist() == [60, 60]
  flat = tf.constant(np.full((8, 8, 3), 77, np.uint8))
  for op in OPS.values():  # no op fails on a flat image
    op(flat)


def test_randaugment_draws_from_the_seed():
  image = _image(shape=(32, 32, 3))
  outs = [ra.randaugment(image, tf.constant([i, 0], tf.int64)).numpy() for i in range(12)]
  assert len({o.tobytes() for o in outs}) > 6
  np.testing.assert_array_equal(ra.randaugment(image, tf.constant([3, 0], tf.int64)), outs[3])


def _small_imagenet(name):
  workload = registry.get(name)
  workload.num_train_examples = NUM_MOCK
  workload.num_validation_examples = 5
  workload.num_test_examples = 3
  workload.eval_batch_size = 4
  return workload


def _take(iterator, n):
  return [next(iterator) for _ in range(n)]


def test_train_batches_resume_exactly_and_follow_the_key():
  workload = _small_imagenet('imagenet_resnet')
  rng = jax.random.PRNGKey(0)
  with tfds.testing.mock_data(num_examples=NUM_MOCK):
    run = _take(workload.input_iterator('train', rng, 3), 7)  # 21 examples: spans 3 epochs
    resumed = _take(workload.input_iterator('train', rng, 3, start_step=4), 3)
    other = next(workload.input_iterator('train', jax.random.PRNGKey(1), 3))
  assert run[0]['inputs'].shape == (3, 224, 224, 3) and run[0]['inputs'].dtype == np.float32
  assert run[0]['targets'].dtype == np.int32 and 'weights' not in run[0]
  for a, b in zip(run[4:], resumed):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])
  assert not np.array_equal(run[0]['inputs'], other['inputs'])
  # each epoch is a permutation of the 8 examples: labels of one epoch form the whole set
  labels = np.concatenate([b['targets'] for b in run])
  assert sorted(labels[:8]) == sorted(labels[8:16])


def test_vit_train_batches_are_mixed_up_with_one_weight():
  rng = jax.random.PRNGKey(0)
  with tfds.testing.mock_data(num_examples=NUM_MOCK):
    plain = next(_small_imagenet('imagenet_resnet').input_iterator('train', rng, 4))
    mixed = next(_small_imagenet('imagenet_vit').input_iterator('train', rng, 4))
  labels = plain['targets']
  targets = mixed['targets']
  assert targets.shape == (4, 1000) and targets.dtype == np.float32
  differs = np.nonzero(labels != np.roll(labels, 1))[0]
  assert len(differs), 'mock labels all equal'
  lam = targets[differs[0], labels[differs[0]]]
  one_hot = np.eye(1000, dtype=np.float32)[labels]
  np.testing.assert_allclose(targets, lam * one_hot + (1 - lam) * np.roll(one_hot, 1, axis=0),
                             atol=1e-6)
  assert 0 < lam < 1
  np.testing.assert_allclose(targets.sum(-1), 1.0, rtol=1e-6)
  # the same crops, then RandAugment and mixup: the images differ
  assert not np.allclose(plain['inputs'], mixed['inputs'])


def test_eval_splits_are_padded_and_test_reads_imagenet_v2(monkeypatch):
  workload = _small_imagenet('imagenet_resnet')
  opened = []
  builder = ip._builder  # pylint: disable=protected-access
  monkeypatch.setattr(ip, '_builder', lambda name, data_dir: opened.append(name) or builder(
      name, data_dir))
  with tfds.testing.mock_data(num_examples=NUM_MOCK):
    for split, n in workload.split_sizes().items():
      batches = list(workload.input_iterator(split, jax.random.PRNGKey(0), 4))
      assert len(batches) == -(-n // 4)
      weights = np.concatenate([b['weights'] for b in batches])
      assert weights.sum() == n and np.all(weights[n:] == 0)
      assert np.all(batches[-1]['inputs'][weights[-4:] == 0] == 0)
  assert opened == [ip.IMAGENET, ip.IMAGENET, ip.IMAGENET_V2]


@pytest.mark.parametrize('name', ['imagenet_resnet', 'imagenet_vit'])
def test_full_model_end_to_end_on_mock_data(name):
  """A train step (loss, gradients, batch-norm update) and an eval of all three splits."""
  workload = _small_imagenet(name)
  params, state = workload.init_model_fn(jax.random.PRNGKey(0))
  with tfds.testing.mock_data(num_examples=NUM_MOCK):
    batch = next(workload.input_iterator('train', jax.random.PRNGKey(1), 2))

    def loss_fn(p):
      logits, new_state = workload.model_fn(p, batch, state, spec.ForwardPassMode.TRAIN,
                                            jax.random.PRNGKey(2), True, dropout_rate=0.1)
      out = workload.loss_fn(batch['targets'], logits, None, 0.1)
      return out['summed'] / out['n_valid_examples'], new_state

    (loss, new_state), grads = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(params)
    metrics = workload.eval_model(params, state, jax.random.PRNGKey(3))
  assert np.isfinite(loss) and np.isfinite(sum(float(np.abs(g).sum())
                                               for g in jax.tree.leaves(grads)))
  if state:  # batch-norm statistics moved
    assert not np.allclose(new_state['BatchNorm_init']['mean'], state['BatchNorm_init']['mean'])
  for split, n in [('train', 8), ('validation', 5), ('test', 3)]:
    assert metrics[f'{split}/num_examples'] == n
    assert 0.0 <= metrics[f'{split}/accuracy'] <= 1.0 and np.isfinite(metrics[f'{split}/loss'])
