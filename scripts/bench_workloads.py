"""How fast the full-size workloads train on this machine, and whether their input pipelines
keep up.

For each full-size model at a small batch: the median time of a jitted train step (forward,
backward, AdamW, buffers donated), its FLOPs (XLA's cost analysis of the compiled step) and
the FLOP rate as a fraction of this machine's measured matmul peak (in the model's compute
dtype: float32, bfloat16 for finewebedu_lm); and the examples/s of its jitted eval step at the
same batch, the sums added up on the device as the eval loop does. For each input pipeline,
on mock data of realistic size (ImageNet: JPEGs of 500x375 through `tfds.testing.mock_data`;
fastMRI: h5 volumes of 640x368 k-space written to a temporary folder; FineWeb-Edu: a
memory-mapped file of random GPT-2 ids): examples/s in all and per CPU core, next to the
examples/s the model consumes here and the rate AlgoPerf's step hint and budget imply
(step_hint x batch / budget).

    python scripts/bench_workloads.py                 # everything (about 5 minutes on 2 cores,
                                                      # and minutes more for finewebedu_lm)
    python scripts/bench_workloads.py --only=fastmri --steps=5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import optax  # pylint: disable=g-import-not-at-top

from avgperf import spec  # pylint: disable=g-import-not-at-top
from configs.workloads import baseline_batch_size  # pylint: disable=g-import-not-at-top
from workloads import registry  # pylint: disable=g-import-not-at-top

BATCH = {'imagenet_resnet': 8, 'imagenet_vit': 8, 'fastmri': 2, 'finewebedu_lm': 1}
PEAK_DTYPE = {'finewebedu_lm': jnp.bfloat16}  # others: float32
PIPELINE_BATCH = 32


def _median_seconds(fn, repeats: int) -> float:
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def matmul_peak(sizes=(1024, 2048, 3072), repeats: int = 5, dtype=jnp.float32) -> float:
  """The best FLOP/s of a jitted square matmul of `dtype` over `sizes`."""
  best = 0.0
  for n in sizes:
    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), dtype)
    b = jax.random.normal(jax.random.PRNGKey(1), (n, n), dtype)
    f = jax.jit(jnp.matmul)
    jax.block_until_ready(f(a, b))
    best = max(best, 2 * n**3 / _median_seconds(lambda: f(a, b), repeats))
  return best


def _synthetic_batch(workload, batch_size: int, weights: bool = False) -> dict:
  """A training batch; with `weights`, an eval batch (weights per example, per token for
  the LM, and the de-normalisation fastMRI's metric reads)."""
  rng = np.random.default_rng(0)
  if workload.name == 'fastmri':
    shape = (batch_size, 320, 320)
    batch = {'inputs': rng.normal(size=shape).astype(np.float32),
             'targets': rng.normal(size=shape).astype(np.float32)}
    if weights:
      batch.update({k: np.ones(batch_size, np.float32) for k in ('mean', 'std', 'volume_max')})
  elif workload.name == 'finewebedu_lm':
    tokens = rng.integers(0, 50_257, (batch_size, 1_025)).astype(np.int32)
    batch = {'inputs': tokens[:, :-1], 'targets': tokens[:, 1:]}
  else:
    batch = {'inputs': rng.normal(size=(batch_size, 224, 224, 3)).astype(np.float32),
             'targets': rng.integers(0, 1000, batch_size).astype(np.int32)}
  if weights:
    per_token = workload.name == 'finewebedu_lm'
    batch['weights'] = np.ones(batch['targets'].shape if per_token else batch_size, np.float32)
  return batch


def _flops(compiled) -> float:
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0]
  return float(cost.get('flops', float('nan')))


def bench_train_step(name: str, batch_size: int, steps: int) -> dict:
  """Median seconds of one train step, and its FLOPs."""
  workload = registry.get(name)
  params, model_state = workload.init_model_fn(jax.random.PRNGKey(0))
  tx = optax.adamw(1e-3, weight_decay=0.01)
  opt_state = tx.init(params)
  batch = jax.device_put(_synthetic_batch(workload, batch_size))

  def step(params, model_state, opt_state, batch, rng):
    def loss_fn(p):
      out, new_state = workload.model_fn(p, batch, model_state, spec.ForwardPassMode.TRAIN,
                                         rng, update_batch_norm=True, dropout_rate=0.0)
      loss = workload.loss_fn(batch['targets'], out, None, 0.1)
      return loss['summed'] / loss['n_valid_examples'], new_state

    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_state, opt_state, loss

  rng = jax.random.PRNGKey(1)
  start = time.perf_counter()
  compiled = jax.jit(step, donate_argnums=(0, 2)).lower(
      params, model_state, opt_state, batch, rng).compile()
  compile_s = time.perf_counter() - start
  state = [params, model_state, opt_state]

  def run():
    state[0], state[1], state[2], loss = compiled(state[0], state[1], state[2], batch, rng)
    return loss

  for _ in range(2):
    jax.block_until_ready(run())
  seconds = _median_seconds(run, steps)
  return {'seconds': seconds, 'flops': _flops(compiled), 'compile_s': compile_s,
          'examples_per_s': batch_size / seconds, 'params': state[0], 'model_state': state[1]}


def bench_eval_step(name: str, params, model_state, batch_size: int, steps: int) -> float:
  """Examples/s of the jitted eval step, its sums added up on the device (the eval loop)."""
  workload = registry.get(name)
  batch = jax.device_put(_synthetic_batch(workload, batch_size, weights=True))
  eval_batch = jax.jit(workload.eval_batch)
  rng = jax.random.PRNGKey(2)
  jax.block_until_ready(eval_batch(params, model_state, batch, rng))

  def run():
    sums = eval_batch(params, model_state, batch, rng)
    for _ in range(steps - 1):
      sums = jax.tree.map(jnp.add, sums, eval_batch(params, model_state, batch, rng))
    return sums

  start = time.perf_counter()
  jax.block_until_ready(run())
  return steps * batch_size / (time.perf_counter() - start)


# --- Pipelines on mock data. ------------------------------------------------------------------

def _jpeg_pool(num: int = 16, height: int = 375, width: int = 500) -> list[bytes]:
  """Smooth random colour images (compressible like photos), JPEG-encoded at quality 90."""
  from workloads.common.tf_data import import_tf  # pylint: disable=g-import-not-at-top

  tf = import_tf()
  rng = np.random.default_rng(0)
  pool = []
  for _ in range(num):
    coarse = rng.uniform(0, 255, (1, height // 16, width // 16, 3)).astype(np.float32)
    image = tf.image.resize(coarse, (height, width), method='bicubic')[0]
    image += rng.normal(0, 8, (height, width, 3))
    pool.append(tf.io.encode_jpeg(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8),
                                  quality=90).numpy())
  return pool


def _mock_imagenet(num_examples: int):
  """`tfds.testing.mock_data` serving `num_examples` encoded 500x375 JPEGs per split."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from workloads.common.tf_data import import_tf  # pylint: disable=g-import-not-at-top

  tf = import_tf()
  pool = _jpeg_pool()

  def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False, **kwargs):
    del self, split, decoders, read_config, shuffle_files, kwargs
    images = tf.constant([pool[i % len(pool)] for i in range(num_examples)])
    labels = tf.constant(np.arange(num_examples) % 1000, tf.int64)
    return tf.data.Dataset.from_tensor_slices(
        {'image': images, 'label': labels, 'file_name': tf.fill([num_examples], '')})

  return tfds.testing.mock_data(num_examples=num_examples, as_dataset_fn=as_dataset)


def _write_fastmri(root: Path, volumes: int = 4, slices: int = 8, width: int = 368) -> None:
  import h5py  # pylint: disable=g-import-not-at-top
  from workloads.fastmri import input_pipeline as fip  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  for folder in (fip.TRAIN_DIR, fip.VAL_DIR):
    (root / folder).mkdir(parents=True)
    for v in range(volumes):
      kspace = (rng.normal(size=(slices, 640, width))
                + 1j * rng.normal(size=(slices, 640, width))).astype(np.complex64)
      with h5py.File(root / folder / f'file{v:04d}.h5', 'w') as f:
        f['kspace'] = kspace
        f['reconstruction_esc'] = rng.random((slices, 320, 320), np.float32)
        f.attrs['max'] = 1.0


def _examples_per_second(iterator, batches: int, batch_size: int) -> float:
  next(iterator)  # start-up (tf.data graph, buffers) is not throughput
  start = time.perf_counter()
  for _ in range(batches):
    next(iterator)
  return batches * batch_size / (time.perf_counter() - start)


def bench_pipeline(name: str, batches: int) -> float:
  """Training examples/s of the workload's input pipeline on mock data."""
  workload = registry.get(name)
  rng = jax.random.PRNGKey(0)
  if name == 'finewebedu_lm':
    with tempfile.TemporaryDirectory() as d:
      # 40,000 windows (82 MB), read by random access through the page cache.
      np.random.default_rng(0).integers(0, 50_257, 40_000 * 1_025).astype('<u2').tofile(
          Path(d) / 'train.bin')
      it = workload.input_iterator('train', rng, PIPELINE_BATCH, data_dir=d)
      return _examples_per_second(it, batches, PIPELINE_BATCH)
  if name == 'fastmri':
    with tempfile.TemporaryDirectory() as d:
      _write_fastmri(Path(d))
      workload.num_train_examples = 32
      it = workload.input_iterator('train', rng, PIPELINE_BATCH, data_dir=d)
      return _examples_per_second(it, batches, PIPELINE_BATCH)
  num = 512
  workload.num_train_examples = num
  with _mock_imagenet(num):
    it = workload.input_iterator('train', rng, PIPELINE_BATCH)
    return _examples_per_second(it, batches, PIPELINE_BATCH)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--only', default=None, help='one workload name')
  parser.add_argument('--steps', type=int, default=10, help='timed train steps per model')
  parser.add_argument('--batches', type=int, default=20, help='timed pipeline batches')
  parser.add_argument('--skip_pipelines', action='store_true')
  args = parser.parse_args(argv)
  names = [args.only] if args.only else list(BATCH)
  cores = os.cpu_count()

  peaks = {dtype: matmul_peak(dtype=dtype)
           for dtype in {jnp.float32, *(PEAK_DTYPE.get(n, jnp.float32) for n in names)}}
  print(f'machine: {cores} CPU cores, jax {jax.__version__} on {jax.devices()[0].platform}; '
        'matmul peak ' + ', '.join(f'{jnp.dtype(d).name} {p / 1e9:.1f}'
                                   for d, p in peaks.items()) + ' GFLOP/s', flush=True)
  print(f'{"workload":16s} {"batch":>5s} {"step s":>8s} {"GFLOP/step":>11s} {"GFLOP/s":>8s} '
        f'{"of peak":>7s} {"model ex/s":>10s} {"eval ex/s":>9s} | {"pipeline ex/s":>13s} '
        f'{"per core":>8s} | {"AlgoPerf ex/s":>13s}', flush=True)
  for name in names:
    result = bench_train_step(name, BATCH[name], args.steps)
    rate = result['flops'] / result['seconds']
    evals = bench_eval_step(name, result['params'], result['model_state'], BATCH[name],
                            args.steps)
    del result['params'], result['model_state']
    pipeline = float('nan') if args.skip_pipelines else bench_pipeline(name, args.batches)
    w = registry.get(name)
    needed = w.step_hint * baseline_batch_size(name) / w.max_allowed_runtime_sec
    peak = peaks[PEAK_DTYPE.get(name, jnp.float32)]
    print(f'{name:16s} {BATCH[name]:5d} {result["seconds"]:8.3f} {result["flops"] / 1e9:11.1f} '
          f'{rate / 1e9:8.1f} {rate / peak:7.1%} {result["examples_per_s"]:10.1f} '
          f'{evals:9.1f} | {pipeline:13.1f} {pipeline / cores:8.1f} | {needed:13.0f}',
          flush=True)
  print('model ex/s, eval ex/s: examples per second of the train step and of the eval step '
        'above, on this machine. '
        'AlgoPerf ex/s: step_hint x baseline batch / max_allowed_runtime_sec, the rate the '
        'baseline consumes on the reference hardware (8x V100).')
  return 0


if __name__ == '__main__':
  sys.exit(main())
