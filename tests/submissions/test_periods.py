"""The EMA and LAWA of the submissions take the updates Ajroldi et al.'s code takes
(Niccolo-Ajroldi/algorithmic-efficiency: submissions/lawa_queue/lawa_queue.py and
submissions/lawa_ema), written out as their update_params does it."""

import collections
import math
import types

import jax
import numpy as np
import optax

from avgperf import tuning
from submissions import nadamw_ema, nadamw_lawa
from tests.submissions import helpers

STEPS = 60
WORKLOAD = types.SimpleNamespace(step_hint=1000)  # burn-in 20 steps, period 3


def trajectory():
  params, loss = helpers.quadratic_problem()
  traj, _ = helpers.run(optax.adam(0.05), params, loss, STEPS)
  return params, loss, traj


def follow(averager, params, traj):
  """The averager driven along the recorded trajectory (t counted from 1)."""
  state, update = averager.init(params), jax.jit(averager.update)
  for t, p in enumerate(traj, start=1):
    state = update(p, state, t)
  return averager.result(state, traj[-1])


def test_lawa_takes_the_updates_ajroldis_queue_takes():
  params, _, traj = trajectory()
  h = tuning.make_hyperparameters({'lawa_length': 4, 'lawa_every_fraction': 0.003,
                                   'lawa_burnin_fraction': 0.02})
  start_step = math.ceil(WORKLOAD.step_hint * 0.02)
  every_step = math.ceil(WORKLOAD.step_hint * 0.003)
  queue = collections.deque(maxlen=4)
  for global_step, p in enumerate(traj):  # update_params(global_step) made traj[global_step]
    if global_step >= start_step and global_step % every_step == 0:
      queue.append(helpers.as64(p))
  want = jax.tree.map(lambda *xs: np.sum([x / 4 for x in xs], axis=0), *queue)
  got = follow(nadamw_lawa.lawa_averager(WORKLOAD, h), params, traj)
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5), got, want)


def test_ema_takes_the_updates_ajroldis_ema_takes():
  params, _, traj = trajectory()
  h = tuning.make_hyperparameters({'ema_decay': 0.8, 'ema_every_fraction': 0.003,
                                   'ema_start_fraction': 0.02})
  start_step, every_step, ema = 20, 3, None
  for global_step, p in enumerate(traj):
    if global_step >= start_step and global_step % every_step == 0:  # LAWA.update_ema
      p = helpers.as64(p)
      ema = p if ema is None else jax.tree.map(lambda e, x: 0.8 * e + 0.2 * x, ema, p)
  got = follow(nadamw_ema.ema_averager(WORKLOAD, h), params, traj)
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5), got, ema)


def test_ema_without_a_period_updates_every_step():
  params, _, traj = trajectory()
  h = tuning.make_hyperparameters({'ema_decay': 0.8})
  ema = None
  for p in traj:
    p = helpers.as64(p)
    ema = p if ema is None else jax.tree.map(lambda e, x: 0.8 * e + 0.2 * x, ema, p)
  got = follow(nadamw_ema.ema_averager(WORKLOAD, h), params, traj)
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5), got, ema)
