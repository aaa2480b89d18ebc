"""The runner's time per step against a bare jitted loop of the same model, optimizer and batch.

    python scripts/bench_overhead.py [--batch_sizes 16,64,1024,8192] [--repeats 3]

For each batch size it prints the bare loop's time per step (64 pre-built batches fed from
host memory, no synchronisation until the end), the same loop synchronised after every step,
and the runner's timed seconds per step (what scoring sees) twice: fed the same 64 pre-built
host batches (`runner`: the runner's own cost) and fed by the workload's input pipeline
(`+pipeline`: shuffling and gathering each batch as training does), with the ratios to the
bare loop. Compilation is excluded from all: each runs once to compile before it is measured.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np
import optax

from avgperf import runner, spec, submission_loader, tuning
from workloads import registry

POINT = {'dropout_rate': 0.0, 'label_smoothing': 0.1, 'learning_rate': 0.001308209823469072,
         'one_minus_beta1': 0.02686663061, 'beta2': 0.9981232922116359,
         'weight_decay': 0.16375311233774334, 'warmup_factor': 0.1}


def host_batches(workload, batch_size: int) -> list[dict]:
  return [b for _, b in zip(range(64), workload.input_iterator(
      'train', jax.random.PRNGKey(1), batch_size))]


class PrebuiltBatches:
  """`workload`, its training batches drawn in turn from a fixed list held in host memory."""

  def __init__(self, workload, batches: list[dict]):
    self._workload, self._batches = workload, batches

  def __getattr__(self, name):
    return getattr(self._workload, name)

  def input_iterator(self, split, rng, global_batch_size, data_dir=None, start_step=0):
    if split != 'train':
      return self._workload.input_iterator(split, rng, global_batch_size, data_dir)
    return (self._batches[i % len(self._batches)] for i in itertools.count(start_step))


def bare_loop(workload, hyperparameters, batch_size: int, steps: int,
              sync_every_step: bool = False) -> float:
  """Seconds per step of a jitted step fed from host memory, synchronised once at the end
  (or after every step, the floor of any runner that times steps honestly)."""
  from submissions import baseline  # pylint: disable=g-import-not-at-top

  tx = baseline.make_tx(workload, hyperparameters)
  params, model_state = workload.init_model_fn(jax.random.PRNGKey(0))
  opt_state = tx.init(params)
  batches = host_batches(workload, batch_size)

  def step(params, opt_state, batch, rng):
    def loss_fn(p):
      logits, _ = workload.model_fn(p, batch, model_state, spec.ForwardPassMode.TRAIN, rng,
                                    update_batch_norm=True,
                                    dropout_rate=hyperparameters.dropout_rate)
      out = workload.loss_fn(batch['targets'], logits, None, hyperparameters.label_smoothing)
      return out['summed'] / out['n_valid_examples']

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  step = jax.jit(step, donate_argnums=(0, 1))
  rng = jax.random.PRNGKey(2)

  def run(n):
    nonlocal params, opt_state
    for i in range(n):
      params, opt_state, loss = step(params, opt_state, batches[i % 64], rng)
      if sync_every_step:
        jax.block_until_ready((params, opt_state))
    jax.block_until_ready(loss)

  run(3)
  start = time.perf_counter()
  run(steps)
  return (time.perf_counter() - start) / steps


def runner_loop(workload, hyperparameters, batch_size: int, steps: int) -> float:
  """Timed seconds per step of the runner."""
  sub = submission_loader.load('baseline')

  def run(n):
    with tempfile.TemporaryDirectory() as d:
      return runner.run_trial(workload, sub, runner.TrialConfig(
          trial_dir=Path(d), rng_seed=0, budget_sec=1e9, batch_size=batch_size,
          hyperparameters=hyperparameters._asdict(), max_global_steps=n, eval_every_steps=n,
          checkpoint=False)).accumulated_submission_time

  run(3)
  timed = run(steps)
  timed_short = run(3)  # fixed costs: the first batches, one eval's preparation
  return (timed - timed_short) / (steps - 3)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--workload', default='digits')
  parser.add_argument('--batch_sizes', default='16,64,1024,8192')
  parser.add_argument('--steps', default='3000,3000,1000,300')
  parser.add_argument('--repeats', type=int, default=3, help='report the median of repeats')
  args = parser.parse_args()
  workload = registry.get(args.workload)
  workload.validation_target_value = 2.0  # never reached: run every step
  hyperparameters = tuning.make_hyperparameters(POINT)
  print(f'devices: {jax.devices()}  workload: {args.workload}  (median of {args.repeats})')
  print(f'{"batch":>7}{"bare ms":>10}{"bare+sync ms":>14}{"runner ms":>11}{"+pipeline ms":>14}'
        f'{"runner/bare":>13}{"+pipeline/bare":>16}')
  for batch, steps in zip(map(int, args.batch_sizes.split(',')), map(int, args.steps.split(','))):
    prebuilt = PrebuiltBatches(workload, host_batches(workload, batch))
    samples = []
    for _ in range(args.repeats):
      samples.append((bare_loop(workload, hyperparameters, batch, steps),
                      bare_loop(workload, hyperparameters, batch, steps, sync_every_step=True),
                      runner_loop(prebuilt, hyperparameters, batch, steps),
                      runner_loop(workload, hyperparameters, batch, steps)))
    bare, synced, timed, piped = np.median(np.array(samples), axis=0)
    print(f'{batch:>7}{1e3 * bare:>10.3f}{1e3 * synced:>14.3f}{1e3 * timed:>11.3f}'
          f'{1e3 * piped:>14.3f}{timed / bare:>13.2f}{piped / bare:>16.2f}', flush=True)


if __name__ == '__main__':
  main()
