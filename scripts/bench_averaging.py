"""What averaging costs a training step: extra time per step and extra memory, in copies of
the params, for EMA (every step), LAWA (nu=64, L=20; buffer on the device and in host
memory) and TWA (n=10 checkpoints; collecting, and training the coefficients).

    python scripts/bench_averagers.py [--hidden 1536,1536] [--batch_size 256] [--repeats 5]

The workload is the digits MLP widened until a step takes over 20 ms here (the goal for EMA
is < 3% on such a step). Each variant runs the real submission step (`OptaxSubmission`'s
jitted, donating step) on NAdamW; blocks of `--steps` steps (a multiple of 64, so LAWA's
snapshots are amortised as in training) alternate between variants, synchronised at block
ends, and the median block is reported. Compilation is excluded.

Memory columns: `state` is the averaging state resident in device memory beyond plain
NAdamW's state, `host` the part in host memory (pinned_host), and `temp` the change in the
compiled step's scratch memory (XLA's memory_analysis), all divided by the params' bytes.
On a CPU backend device and host memory are the same RAM; the split is what the arrays'
memory kinds say, which is what a GPU or TPU would hold where.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # pylint: disable=g-import-not-at-top
import numpy as np

from avgperf import tuning
from submissions import averagers, optimizers
from submissions.common.optax_submission import OptaxSubmission
from submissions.optimizers import nadamw
from workloads.digits.workload import DigitsWorkload

HYPERPARAMETERS = tuning.make_hyperparameters({'label_smoothing': 0.0, 'dropout_rate': 0.0})


def variants(base):
  """name -> transformation (built from the same NAdamW)."""
  return {
      'nadamw (reference)': base,
      'EMA every step': averagers.with_average(base, averagers.ema(0.999)),
      'LAWA nu=64 L=20': averagers.with_average(base, averagers.lawa(20, 64)),
      'LAWA nu=64 L=20 host': averagers.with_average(base, averagers.lawa(20, 64, host_buffer=True)),
      # The programs nadamw_twa compiles: phase 1 (the inner optimizer, storing checkpoints)
      # and phase 2 (the coefficients X trained, the inner optimizer idle).
      'TWA n=10 collecting': optimizers.trainable_weight_averaging(
          base, 10, every=64, switch=10**9, phase=1),
      'TWA n=10 training X': optimizers.trainable_weight_averaging(
          base, 10, every=1, switch=10, learning_rate=0.01, phase=2),
  }


def nbytes(tree, kind=None) -> int:
  return sum(x.nbytes for x in jax.tree.leaves(tree)
             if isinstance(x, jax.Array) and (kind is None or x.sharding.memory_kind == kind))


class Runner:
  """One variant: its jitted submission step, its state, a block of timed steps."""

  def __init__(self, workload, tx, batches):
    submission = OptaxSubmission(make_tx=lambda w, h: tx)
    self.step_fn = submission._train_step(workload, HYPERPARAMETERS)  # pylint: disable=protected-access
    self.params, self.model_state = workload.init_model_fn(jax.random.PRNGKey(0))
    self.opt_state = tx.init(self.params)
    self.batches = batches
    self.rng = jax.random.PRNGKey(1)
    self.i = 0
    lowered = self.step_fn.lower(self.params, self.model_state, self.opt_state, batches[0],
                                 self.rng)
    self.temp = lowered.compile().memory_analysis().temp_size_in_bytes
    self.state_device = nbytes(self.opt_state, 'device')
    self.state_host = nbytes(self.opt_state, 'pinned_host')
    self.block(16)  # compile and warm up (TWA passes its switch here)

  def block(self, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
      self.params, self.model_state, self.opt_state, loss = self.step_fn(
          self.params, self.model_state, self.opt_state, self.batches[self.i % len(self.batches)],
          self.rng)
      self.i += 1
    jax.block_until_ready((self.params, self.opt_state, loss))
    return (time.perf_counter() - start) / steps


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--hidden', default='1536,1536', help='MLP widths')
  parser.add_argument('--batch_size', type=int, default=256)
  parser.add_argument('--steps', type=int, default=128, help='steps per timed block')
  parser.add_argument('--repeats', type=int, default=5, help='blocks per variant (median)')
  parser.add_argument('--only', default='', help='comma-separated variant name prefixes')
  args = parser.parse_args()

  workload = DigitsWorkload(hidden=tuple(int(h) for h in args.hidden.split(',')))
  batches = [jax.device_put(b) for _, b in zip(range(8), workload.input_iterator(
      'train', jax.random.PRNGKey(2), args.batch_size))]
  params, _ = workload.init_model_fn(jax.random.PRNGKey(0))
  param_bytes = nbytes(params)
  base = nadamw(1e-3, b1=0.97, b2=0.998, weight_decay=0.1)
  chosen = {k: v for k, v in variants(base).items()
            if k.startswith('nadamw') or not args.only
            or any(k.startswith(p) for p in args.only.split(','))}
  runners = {name: Runner(workload, tx, batches) for name, tx in chosen.items()}

  times = {name: [] for name in runners}
  for _ in range(args.repeats):  # interleaved, so that load from elsewhere hits all alike
    for name, runner in runners.items():
      times[name].append(runner.block(args.steps))

  ref = runners['nadamw (reference)']
  ref_time = float(np.median(times['nadamw (reference)']))
  n_params = sum(x.size for x in jax.tree.leaves(params))
  print(f'devices: {jax.devices()}  params: {n_params:,} ({param_bytes / 2**20:.1f} MiB)  '
        f'batch {args.batch_size}  blocks of {args.steps} steps, median of {args.repeats}')
  print(f'{"variant":<24}{"ms/step":>9}{"extra ms":>10}{"extra %":>9}'
        f'{"state (copies)":>16}{"host (copies)":>15}{"temp (copies)":>15}')
  for name, runner in runners.items():
    t = float(np.median(times[name]))
    state = (runner.state_device - ref.state_device) / param_bytes
    host = (runner.state_host - ref.state_host) / param_bytes
    temp = (runner.temp - ref.temp) / param_bytes
    print(f'{name:<24}{1e3 * t:>9.2f}{1e3 * (t - ref_time):>10.2f}'
          f'{100 * (t - ref_time) / ref_time:>8.1f}%{state:>16.2f}{host:>15.2f}{temp:>15.2f}',
          flush=True)


if __name__ == '__main__':
  main()
