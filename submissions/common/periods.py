"""Steps given as fractions of the step hint.

`to_steps` is the rule of every submission here: the floor, as AlgoPerf's baseline turns
its `warmup_factor` into steps. `start_and_every` is Ajroldi et al.'s for averaging periods
(Niccolo-Ajroldi/algorithmic-efficiency, submissions/lawa_queue/lawa_queue.py: `start_step =
ceil(step_hint * lawa_burnin_pct)`, `every_step = ceil(step_hint * lawa_every_pct)`, and a
snapshot after the update made at `global_step` when global_step >= start_step and
global_step % every_step == 0, AlgoPerf's global_step counting the updates before it)."""

from __future__ import annotations

import math


def to_steps(fraction: float, step_hint: int, minimum: int = 0) -> int:
  """floor(fraction * step_hint), at least `minimum`.

  >>> to_steps(0.1, 1005), to_steps(0.0001, 600, minimum=1)
  (100, 1)
  """
  return max(minimum, int(fraction * step_hint))


def start_and_every(step_hint: int, burnin_fraction: float,
                    every_fraction: float) -> tuple[int, int]:
  """(start, every) for `averagers.gate` (updates counted from 1) that take the updates
  Ajroldi et al.'s rule takes: t - 1 a multiple of `every`, t - 1 >= the burn-in.

  >>> start_and_every(1000, burnin_fraction=0.02, every_fraction=0.003)
  (22, 3)
  """
  every = max(1, math.ceil(step_hint * every_fraction))
  burnin = math.ceil(step_hint * burnin_fraction)
  return -(-burnin // every) * every + 1, every
