"""LAWA's float32 error against the float64 mean of the last L snapshots, after many
snapshots: the library's `averagers.lawa` (the mean recomputed from the buffer) beside a
running sum kept by adding each new snapshot and subtracting the one it replaces (the form
LAWA had before; float32, in numpy).

    python scripts/measure_lawa_error.py [--snapshots 10000,200000] [--length 20]

Snapshots: weights of magnitude 100 (100 + N(0, 1) per weight) moving by N(0, 0.01) steps.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp
import numpy as np

from submissions import averagers


def trajectory(n: int, width: int, seed: int = 0) -> np.ndarray:
  rng = np.random.default_rng(seed)
  base = 100.0 + rng.normal(size=width)
  return (base + np.cumsum(rng.normal(size=(n, width)) * 0.01, axis=0)).astype(np.float32)


def running_sum_mean(snapshots: np.ndarray, length: int) -> np.ndarray:
  """Add the new snapshot, subtract the replaced one, in float32."""
  total = np.zeros(snapshots.shape[1], np.float32)
  for k, x in enumerate(snapshots):
    total = total + x
    if k >= length:
      total = total - snapshots[k - length]
  return total / np.float32(length)


def library_mean(snapshots: np.ndarray, length: int, host_buffer: bool) -> np.ndarray:
  averager = averagers.lawa(length, 1, host_buffer=host_buffer)
  n, width = snapshots.shape

  @jax.jit
  def run(state, xs):
    def body(state, tx):
      return averager.update({'w': tx[1]}, state, tx[0]), None
    return jax.lax.scan(body, state, (jnp.arange(1, n + 1), xs))[0]

  state = run(averager.init({'w': jnp.zeros(width)}), jnp.asarray(snapshots))
  return np.asarray(averager.result(state, {'w': jnp.zeros(width)})['w'])


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('--snapshots', default='10000,200000')
  parser.add_argument('--length', type=int, default=20)
  parser.add_argument('--width', type=int, default=1000)
  args = parser.parse_args()
  print(f'L={args.length}, {args.width} weights of magnitude 100; max |error| vs float64')
  for n in (int(s) for s in args.snapshots.split(',')):
    snapshots = trajectory(n, args.width)
    want = snapshots[-args.length:].astype(np.float64).mean(axis=0)
    err = lambda got: float(np.abs(got.astype(np.float64) - want).max())
    running = err(running_sum_mean(snapshots, args.length))
    device = err(library_mean(snapshots, args.length, False))
    host = err(library_mean(snapshots, args.length, True))
    print(f'{n:>7} snapshots: running add/subtract sum {running:.2e}   lawa (device) '
          f'{device:.2e}   lawa (host buffer) {host:.2e}')


if __name__ == '__main__':
  main()
