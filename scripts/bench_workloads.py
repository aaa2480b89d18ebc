"""How fast the full-size workloads train and evaluate on this machine, and whether their
input pipelines keep up.

For each full-size model at a small batch: the median time of a jitted train step (forward,
backward, AdamW, buffers donated), its FLOPs (XLA's cost analysis of the compiled step) and
the FLOP rate as a fraction of this machine's measured matmul peak (float32); and eval
examples/s of its jitted `eval_batch` at a larger batch (ogbg: also the host's mAP over a
split's worth of rows). For each input
pipeline, on mock data of realistic size (ImageNet: JPEGs of 500x375 through
`tfds.testing.mock_data`; fastMRI: h5 volumes of 640x368 k-space written to a temporary
folder; LibriSpeech: preprocessed utterances of 10-20 s; Criteo: TSV day files of synthetic
click-log lines; FineWeb-Edu: a memory-mapped file of random GPT-2 ids): examples/s in all and per CPU
core, next to the examples/s the model consumes here and the rate AlgoPerf's step hint and
budget imply (step_hint x batch / budget).

criteo1tb also gets the share of its step spent in the embedding lookup (forward and
backward) and in the optimizer's update of the table, and, in a process with 4 CPU
devices, the lookup with the table split by rows over them (the workload's shard_map),
left to GSPMD, and replicated (AlgoPerf's layout). The full model needs about 12 GB of
memory.

    python scripts/bench_workloads.py                 # everything (about 10 minutes on 2 cores)
    python scripts/bench_workloads.py --only=fastmri --steps=5
    python scripts/bench_workloads.py --only=ogbg --skip_pipelines
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
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

from avgperf import sharding  # pylint: disable=g-import-not-at-top
from avgperf import spec  # pylint: disable=g-import-not-at-top
from configs.workloads import baseline_batch_size  # pylint: disable=g-import-not-at-top
from workloads import registry  # pylint: disable=g-import-not-at-top

BATCH = {'imagenet_resnet': 8, 'imagenet_vit': 8, 'fastmri': 2, 'ogbg': 64,
         'librispeech_conformer': 2, 'criteo1tb': 256, 'finewebedu_lm': 1}
# Eval batches sized for a CPU (AlgoPerf's: 1,024, 2,048, 256, 32,768 and 256).
EVAL_BATCH = {'imagenet_resnet': 32, 'imagenet_vit': 32, 'fastmri': 16, 'ogbg': 1_024,
              'librispeech_conformer': 8, 'criteo1tb': 8192, 'finewebedu_lm': 1}
PEAK_DTYPE = {'finewebedu_lm': jnp.bfloat16}  # the model's compute dtype; others: float32
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


def _synthetic_batch(workload, batch_size: int) -> dict:
  """A batch of the workload's layout, with 'weights' (and what its eval metric reads)."""
  rng = np.random.default_rng(0)
  weights = np.ones(batch_size, np.float32)
  if workload.name == 'fastmri':
    shape = (batch_size, 320, 320)
    return {'inputs': rng.normal(size=shape).astype(np.float32),
            'targets': rng.normal(size=shape).astype(np.float32), 'weights': weights,
            'mean': np.zeros(batch_size, np.float32), 'std': np.ones(batch_size, np.float32),
            'volume_max': np.full(batch_size, 6.0, np.float32)}
  if workload.name == 'ogbg':  # molecules of molpcba's size, packed under the budgets
    from workloads.ogbg import graphs, molecules  # pylint: disable=g-import-not-at-top
    budget, num_shards = workload.budget(batch_size)
    return next(graphs.eval_batches(graphs.bidirectional(
        molecules.molpcba_like(0, 2 * batch_size)), budget, num_shards))
  if workload.name == 'librispeech_conformer':
    return {**_librispeech_batch(rng, batch_size), 'weights': weights}
  if workload.name == 'criteo1tb':
    counts = np.log1p(rng.integers(0, 1000, (batch_size, 13)))
    ids = rng.integers(0, 40_000_000, (batch_size, 26))
    return {'inputs': np.concatenate([counts, ids], axis=1).astype(np.float32),
            'targets': rng.integers(0, 2, batch_size).astype(np.float32), 'weights': weights}
  if workload.name == 'finewebedu_lm':
    return workload.synthetic_batch(batch_size)
  return {'inputs': rng.normal(size=(batch_size, 224, 224, 3)).astype(np.float32),
          'targets': rng.integers(0, 1000, batch_size).astype(np.int32), 'weights': weights}


def _librispeech_batch(rng, batch_size: int) -> dict:
  """Padded utterances of 10-20 s (LibriSpeech's typical lengths) with 60-200 tokens."""
  from workloads.librispeech_conformer import input_pipeline as lip  # pylint: disable=g-import-not-at-top

  rows = [lip.pad_example(rng.normal(0, 2_000, rng.integers(160_000, 320_000)).astype(np.int64),
                          rng.integers(1, 1024, rng.integers(60, 200)))
          for _ in range(batch_size)]
  return {k: np.stack([r[k] for r in rows]) for k in rows[0]}


def _num_examples(batch: dict) -> int:
  """Real examples in a batch: rows of weight 1, or (graphs) all but each shard's padding
  graph and the empty ones after it."""
  if 'n_node' in batch:
    return int(((batch['n_node'] > 0).sum(-1) - 1).sum())
  return int(batch['weights'].sum())


def _cost(compiled, what: str) -> float:
  """XLA's estimate of the program's 'flops' or 'bytes accessed'."""
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):
    cost = cost[0]
  return float(cost.get(what, float('nan')))


def _init(workload):
  params, model_state = workload.init_model_fn(jax.random.PRNGKey(0))
  return sharding.place_params(params, workload.param_partition_specs()), model_state


def bench_train_step(name: str, batch_size: int, steps: int) -> dict:
  """Median seconds of one train step, and its FLOPs."""
  workload = registry.get(name)
  params, model_state = _init(workload)
  tx = optax.adamw(1e-3, weight_decay=0.01)
  opt_state = tx.init(params)
  batch = sharding.place_batch(_synthetic_batch(workload, batch_size))

  def step(params, model_state, opt_state, batch, rng):
    def loss_fn(p):
      out, new_state = workload.model_fn(p, batch, model_state, spec.ForwardPassMode.TRAIN,
                                         rng, update_batch_norm=True, dropout_rate=0.0)
      loss = workload.loss_fn(batch['targets'], out, batch.get('weights'), 0.1)
      return loss['summed'] / loss['n_valid_examples'], new_state

    (loss, new_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), new_state, opt_state, loss

  rng = jax.random.PRNGKey(1)
  compiled, compile_s, warm_s = _compile_cold_and_warm(
      lambda: jax.jit(step, donate_argnums=(0, 2)).lower(
          params, model_state, opt_state, batch, rng).compile())
  state = [params, model_state, opt_state]

  def run():
    state[0], state[1], state[2], loss = compiled(state[0], state[1], state[2], batch, rng)
    return loss

  for _ in range(2):
    jax.block_until_ready(run())
  seconds = _median_seconds(run, steps)
  return {'seconds': seconds, 'flops': _cost(compiled, 'flops'),
          'bytes': _cost(compiled, 'bytes accessed'), 'compile_s': compile_s,
          'warm_compile_s': warm_s, 'examples_per_s': _num_examples(batch) / seconds}


def _compile_cold_and_warm(compile_fn):
  """(the compiled program, seconds to compile it with an empty persistent compilation
  cache, seconds with that cache filled): what the first timed step of a trial costs, and of
  a resumed one (the runner keeps a cache per trial)."""
  from jax.experimental.compilation_cache import compilation_cache  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory() as d:
    jax.config.update('jax_compilation_cache_dir', d)
    jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
    compilation_cache.reset_cache()
    start = time.perf_counter()
    compiled = compile_fn()
    cold = time.perf_counter() - start
    jax.clear_caches()
    start = time.perf_counter()
    compiled = compile_fn()
    warm = time.perf_counter() - start
    jax.config.update('jax_compilation_cache_dir', None)
    compilation_cache.reset_cache()
  return compiled, cold, warm


def bench_unet_instance_norm(batch_size: int, steps: int) -> dict:
  """The U-Net's train step with its one-pass instance norm against the two-pass one
  (`jnp.var`): bytes moved and seconds, each (one-pass, two-pass)."""
  from workloads.fastmri import model  # pylint: disable=g-import-not-at-top

  one_pass = model.instance_norm

  def two_pass(x, epsilon=1e-5):
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    return (x - mean) * jax.lax.rsqrt(jnp.var(x, axis=(1, 2), keepdims=True) + epsilon)

  results = []
  for norm in (one_pass, two_pass):
    model.instance_norm = norm
    try:
      jax.clear_caches()
      results.append(bench_train_step('fastmri', batch_size, steps))
    finally:
      model.instance_norm = one_pass
  return {'bytes': tuple(r['bytes'] for r in results),
          'seconds': tuple(r['seconds'] for r in results)}


def bench_eval(name: str, batch_size: int, repeats: int = 3) -> float:
  """Examples/s of the workload's jitted `eval_batch` (its forward and metric sums)."""
  workload = registry.get(name)
  params, model_state = workload.init_model_fn(jax.random.PRNGKey(0))
  batch = jax.device_put(_synthetic_batch(workload, batch_size))
  eval_batch = jax.jit(workload.eval_batch)
  rng = jax.random.PRNGKey(1)
  jax.block_until_ready(eval_batch(params, model_state, batch, rng))
  seconds = _median_seconds(lambda: eval_batch(params, model_state, batch, rng), repeats)
  return _num_examples(batch) / seconds


def bench_ogbg_map(num_graphs: int = 43_793, num_tasks: int = 128) -> float:
  """Seconds of ogbg's host-side mean AP over a validation split's worth of rows."""
  from workloads.ogbg import metrics  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  probabilities = rng.random((num_graphs, num_tasks)).astype(np.float32)
  labels = (rng.random((num_graphs, num_tasks)) < 0.02).astype(np.float32)
  mask = (rng.random((num_graphs, num_tasks)) < 0.4).astype(np.float32)
  start = time.perf_counter()
  metrics.mean_average_precision(probabilities, labels * mask, mask)
  return time.perf_counter() - start


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


def _mock_molpcba(num_examples: int):
  """`tfds.testing.mock_data` serving molecules of molpcba's size (128 labels) per split."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  from workloads.ogbg import input_pipeline, molecules  # pylint: disable=g-import-not-at-top

  graphs = molecules.molpcba_like(0, num_examples)
  return tfds.testing.mock_data(
      num_examples=num_examples,
      as_dataset_fn=lambda *args, **kwargs: input_pipeline.as_tfds_dataset(graphs))


def _write_librispeech(root: Path, num: int = 64) -> None:
  """Preprocessed utterances of 10-20 s in AlgoPerf's layout, in every split's subsets."""
  from workloads.librispeech_conformer import input_pipeline as lip  # pylint: disable=g-import-not-at-top

  rng = np.random.default_rng(0)
  for subset in sorted({s for subsets in lip.SUBSETS.values() for s in subsets}):
    (root / subset).mkdir(parents=True)
    ids = [f'{subset}-{i}' for i in range(num if subset == 'train-clean-100' else 1)]
    for utterance in ids:
      audio = rng.normal(0, 2_000, rng.integers(160_000, 320_000)).astype(np.int64)
      np.save(root / subset / f'{utterance}_audio.npy', audio)
      np.save(root / subset / f'{utterance}_targets.npy', rng.integers(1, 1024, 150, np.int32))
    (root / f'{subset}.csv').write_text(',id\n' + ''.join(f'{i},{u}\n' for i, u in enumerate(ids)))


def _write_criteo(root: Path, lines_per_file: int = 65_536) -> None:
  """Criteo-format day files of synthetic click-log lines: two training files, and day 23's
  first validation and test files."""
  from workloads.criteo1tb import synthetic  # pylint: disable=g-import-not-at-top

  for seed, name in enumerate(('day_0_00', 'day_0_01', 'day_23_00', 'day_23_19')):
    with open(root / name, 'wb') as f:
      for tsv, _ in synthetic.click_log(0, seed, lines_per_file):
        f.write(tsv)


def bench_pipeline(name: str, batches: int) -> float:
  """Training examples/s of the workload's input pipeline on mock data (ogbg: real graphs,
  after reading the split into memory)."""
  workload = registry.get(name)
  rng = jax.random.PRNGKey(0)
  if name == 'ogbg':
    from workloads.ogbg import input_pipeline  # pylint: disable=g-import-not-at-top
    batch_size = baseline_batch_size(name)
    with _mock_molpcba(8 * batch_size):
      input_pipeline.load_split.cache_clear()
      it = workload.input_iterator('train', rng, batch_size)
      next(it)  # reading the split into memory is start-up, not throughput
      start = time.perf_counter()
      graphs = sum(_num_examples(next(it)) for _ in range(batches))
      return graphs / (time.perf_counter() - start)
  if name == 'librispeech_conformer':
    with tempfile.TemporaryDirectory() as d:
      _write_librispeech(Path(d))
      it = workload.input_iterator('train', rng, PIPELINE_BATCH, data_dir=d)
      return _examples_per_second(it, batches, PIPELINE_BATCH)
  if name == 'criteo1tb':
    with tempfile.TemporaryDirectory() as d:
      _write_criteo(Path(d))
      it = workload.input_iterator('train', rng, 4096, data_dir=d)
      return _examples_per_second(it, batches, 4096)
  if name == 'finewebedu_lm':
    with tempfile.TemporaryDirectory() as d:
      # 40,000 windows (82 MB), read by random access through the page cache.
      config = workload.config
      np.random.default_rng(0).integers(0, config.vocab_size, 40_000 * (config.seq_len + 1)
                                        ).astype('<u2').tofile(Path(d) / 'train.bin')
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


def bench_criteo_eval_pipeline(batches: int) -> float:
  """Examples/s of Criteo's eval pipeline (validation, several files read at once)."""
  from workloads.criteo1tb import input_pipeline  # pylint: disable=g-import-not-at-top

  size, lines = 4096, 4 * 65_536
  with tempfile.TemporaryDirectory() as d:
    _write_criteo(Path(d))
    for part in range(20, 23):  # four validation files in all
      shutil.copy(Path(d) / 'day_23_19', Path(d) / f'day_23_{part}')
    it = input_pipeline.eval_iterator(d, 'validation', size, lines)
    return _examples_per_second(it, min(batches, lines // size - 1), size)


# --- criteo1tb: the embedding table. ------------------------------------------------------------

def bench_criteo_table(batch_size: int, steps: int) -> dict:
  """Seconds of the full-size table's lookup (forward and backward, which scatters into a
  table-sized gradient) and of AdamW's update of the table alone, at `batch_size`."""
  from workloads.criteo1tb import embedding  # pylint: disable=g-import-not-at-top

  workload = registry.get('criteo1tb')
  params, _ = _init(workload)
  table = params.pop('embedding_table')
  del params
  batch = _synthetic_batch(workload, batch_size)
  ids = jnp.asarray(batch['inputs'][:, 13:].astype(np.int32) % workload.vocab_size)
  cotangent = jnp.ones((batch_size, 26, workload.embed_dim), jnp.float32)
  lookup = embedding.row_sharded_lookup(sharding.get_mesh(), sharding.BATCH_AXIS)

  @jax.jit
  def lookup_both_ways(t):
    rows, vjp = jax.vjp(lambda t: lookup(t, ids), t)
    return rows, vjp(cotangent)[0]

  jax.block_until_ready(lookup_both_ways(table))
  lookup_s = _median_seconds(lambda: lookup_both_ways(table), steps)
  tx = optax.adamw(1e-3, weight_decay=0.01)
  state = [table, tx.init(table)]

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def update(t, opt_state, grads):
    updates, opt_state = tx.update(grads, opt_state, t)
    return optax.apply_updates(t, updates), opt_state

  grads = jnp.full_like(table, 1e-3)

  def run():
    state[0], state[1] = update(state[0], state[1], grads)
    return state[0]

  jax.block_until_ready(run())
  return {'lookup_s': lookup_s, 'update_s': _median_seconds(run, steps)}


_SHARDED_LOOKUP = r"""
import os, re, statistics, sys, time
os.environ['XLA_FLAGS'] = '--xla_force_host_platform_device_count=4'
import jax, jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec as P
from avgperf import sharding
from workloads.criteo1tb import embedding
vocab, dim, batch, steps = map(int, sys.argv[1:])
mesh, axis = sharding.get_mesh(), sharding.BATCH_AXIS
split = NamedSharding(mesh, P(axis, None))
table = jax.jit(lambda k: jax.random.uniform(k, (vocab, dim)), out_shardings=split)(
    jax.random.PRNGKey(0))
ids = jax.device_put(jax.random.randint(jax.random.PRNGKey(1), (batch, 26), 0, vocab),
                     NamedSharding(mesh, P(axis)))
cotangent = jax.device_put(jnp.ones((batch, 26, dim)), NamedSharding(mesh, P(axis)))
def gspmd(t, i):
  rows = embedding.take_rows(t, i)
  return jax.lax.with_sharding_constraint(rows, NamedSharding(mesh, P(axis)))
cases = [('split, shard_map (ours)', embedding.row_sharded_lookup(mesh, axis), table),
         ('split, left to GSPMD', gspmd, table),
         ('replicated (AlgoPerf)', embedding.take_rows,
          jax.device_put(table, NamedSharding(mesh, P())))]
for name, lookup, t in cases:
  def both_ways(t, i, c):
    rows, vjp = jax.vjp(lambda t: lookup(t, i), t)
    return rows, vjp(c)[0]
  compiled = jax.jit(both_ways).lower(t, ids, cotangent).compile()
  moved = re.findall(r'= (\([^)]*\)|\S+) (all-gather|all-reduce|reduce-scatter|all-to-all)\(',
                     compiled.as_text())
  jax.block_until_ready(compiled(t, ids, cotangent))
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    _, grad = jax.block_until_ready(compiled(t, ids, cotangent))
    times.append(time.perf_counter() - start)
  per_device = t.addressable_shards[0].data.nbytes + grad.addressable_shards[0].data.nbytes
  print(f'  {name:24s} {1e3 * statistics.median(times):9.1f} ms  table+grad per device '
        f'{per_device / 2**20:7.0f} MiB  collectives: '
        + ', '.join(f'{op} {shape}' for shape, op in moved), flush=True)
"""


def bench_sharded_lookup(vocab: int, dim: int, batch_size: int, steps: int) -> None:
  """Prints the lookup (forward and backward) on 4 CPU devices, three ways."""
  print(f'criteo1tb lookup, forward and backward, on 4 CPU devices: table {vocab} x {dim}, '
        f'global batch {batch_size}', flush=True)
  subprocess.run([sys.executable, '-c', _SHARDED_LOOKUP, str(vocab), str(dim),
                  str(batch_size), str(steps)], check=True,
                 cwd=Path(__file__).resolve().parent.parent)


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--only', default=None, help='one workload name')
  parser.add_argument('--steps', type=int, default=10, help='timed train steps per model')
  parser.add_argument('--batches', type=int, default=20, help='timed pipeline batches')
  parser.add_argument('--skip_pipelines', action='store_true')
  parser.add_argument('--lookup_vocab', type=int, default=1 << 20,
                      help='table rows for the 4-device lookup comparison')
  args = parser.parse_args(argv)
  names = [args.only] if args.only else list(BATCH)
  cores = os.cpu_count()

  peaks = {dtype: matmul_peak(dtype=dtype)
           for dtype in {jnp.float32, *(PEAK_DTYPE.get(n, jnp.float32) for n in names)}}
  print(f'machine: {cores} CPU cores, jax {jax.__version__} on {jax.devices()[0].platform}; '
        'matmul peak ' + ', '.join(f'{jnp.dtype(d).name} {p / 1e9:.1f}'
                                   for d, p in peaks.items()) + ' GFLOP/s', flush=True)
  print(f'{"workload":16s} {"batch":>5s} {"step s":>8s} {"GFLOP/step":>11s} {"GFLOP/s":>8s} '
        f'{"of peak":>7s} {"model ex/s":>10s} {"eval batch":>10s} {"eval ex/s":>9s} | '
        f'{"compile s":>9s} {"warm":>6s} | {"pipeline ex/s":>13s} {"per core":>8s} | '
        f'{"AlgoPerf ex/s":>13s}', flush=True)
  for name in names:
    result = bench_train_step(name, BATCH[name], args.steps)
    rate = result['flops'] / result['seconds']
    eval_rate = bench_eval(name, EVAL_BATCH[name])
    pipeline = float('nan') if args.skip_pipelines else bench_pipeline(name, args.batches)
    w = registry.get(name)
    needed = w.step_hint * baseline_batch_size(name) / w.max_allowed_runtime_sec
    peak = peaks[PEAK_DTYPE.get(name, jnp.float32)]
    print(f'{name:16s} {BATCH[name]:5d} {result["seconds"]:8.3f} {result["flops"] / 1e9:11.1f} '
          f'{rate / 1e9:8.1f} {rate / peak:7.1%} {result["examples_per_s"]:10.1f} '
          f'{EVAL_BATCH[name]:10d} {eval_rate:9.1f} | {result["compile_s"]:9.1f} '
          f'{result["warm_compile_s"]:6.1f} | {pipeline:13.1f} {pipeline / cores:8.1f} | '
          f'{needed:13.0f}', flush=True)
    print(f'  {name}: the train step moves {result["bytes"] / 1e9:.3f} GB (XLA\'s cost '
          'analysis)', flush=True)
    if name == 'fastmri':
      norm = bench_unet_instance_norm(BATCH[name], args.steps)
      print(f'  fastmri: instance norm in one pass against two: {norm["bytes"][0] / 1e9:.3f} '
            f'against {norm["bytes"][1] / 1e9:.3f} GB a step, {norm["seconds"][0]:.3f} against '
            f'{norm["seconds"][1]:.3f} s ({norm["seconds"][0] / norm["seconds"][1]:.3f}x)',
            flush=True)
    if name == 'ogbg':
      print(f'ogbg: mean AP on the host over 43,793 graphs x 128 tasks: '
            f'{bench_ogbg_map():.2f} s per split', flush=True)
    if name == 'criteo1tb':
      if not args.skip_pipelines:
        rate = bench_criteo_eval_pipeline(args.batches)
        print(f'  eval pipeline (TSV, 4096 lines a batch): {rate:.0f} ex/s, '
              f'{rate / cores:.0f} per core', flush=True)
      table = bench_criteo_table(BATCH[name], args.steps)
      print(f'  of the step: table lookup (forward and backward) {table["lookup_s"]:.3f} s '
            f'({table["lookup_s"] / result["seconds"]:.0%}), AdamW update of the table '
            f'{table["update_s"]:.3f} s ({table["update_s"] / result["seconds"]:.0%})',
            flush=True)
  print('model ex/s: training examples per second of the step above (ogbg: real graphs), on '
        'this machine; eval ex/s: the same for eval_batch at the eval batch; compile s: '
        'compiling the train step with the compilation cache empty (a trial\'s first step), '
        'warm: with it filled (a resumed trial\'s). AlgoPerf ex/s: step_hint x baseline batch '
        '/ max_allowed_runtime_sec, the rate the baseline consumes on the reference hardware '
        '(8x V100).')
  if 'criteo1tb' in names:
    bench_sharded_lookup(args.lookup_vocab, 128, 4096, args.steps)
  return 0


if __name__ == '__main__':
  sys.exit(main())
