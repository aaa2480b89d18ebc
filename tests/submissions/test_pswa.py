"""PSWA against a hand-written SGD-momentum loop with restarts, in float64."""

import jax
import numpy as np
import optax

from submissions import averagers, optimizers
from tests.submissions import helpers

LR, MOMENTUM, EVERY, PERIODS, START, STEPS = 0.05, 0.9, 3, 2, 4, 30


def test_pswa_restart_points_and_trajectory():
  params, loss = helpers.quadratic_problem()
  tx = optimizers.periodic_swa(optax.sgd(LR, momentum=MOMENTUM), EVERY, PERIODS, START)
  traj, state = helpers.run(tx, params, loss, STEPS)

  # The hand loop: heavy-ball momentum m <- g + mu m, w <- w - lr m; a snapshot at
  # t = 4, 7, 10, ...; after every second snapshot w <- their mean and m <- 0.
  noises = np.random.default_rng(1).normal(size=STEPS).astype(np.float32) * 0.3
  w = helpers.as64(params)
  m = jax.tree.map(np.zeros_like, w)
  snaps, restarts, expected = [], [], []
  for t, noise in enumerate(noises, start=1):
    g = helpers.as64(jax.grad(loss)(jax.tree.map(np.float32, w), noise))
    m = jax.tree.map(lambda mi, gi: gi + MOMENTUM * mi, m, g)
    w = jax.tree.map(lambda wi, mi: wi - LR * mi, w, m)
    if t >= START and (t - START) % EVERY == 0:
      snaps.append(w)
      if len(snaps) == PERIODS:
        w = jax.tree.map(lambda *xs: np.mean(xs, axis=0), *snaps)
        m = jax.tree.map(np.zeros_like, m)
        snaps = []
        restarts.append(t)
    expected.append(w)

  assert restarts == [7, 13, 19, 25]
  assert int(state.restarts) == len(restarts)
  for t, (got, want) in enumerate(zip(traj, expected), start=1):
    jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5), got, want)
  # After the last restart (t = 25) one snapshot (t = 28) is in the running average.
  assert int(state.average.count) == 1
  # (Equal up to rounding: XLA may fuse params + updates differently in the two places.)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
               tx.eval_params(state, traj[-1]), traj[27])


def test_pswa_reset_can_keep_part_of_the_state():
  params, loss = helpers.quadratic_problem()
  inner = optax.chain(optax.trace(MOMENTUM), optax.scale_by_schedule(lambda c: -LR / (1 + c)))
  keep_schedule = lambda fresh, old: (fresh[0], old[1])
  tx = optimizers.periodic_swa(inner, EVERY, PERIODS, START, reset=keep_schedule)
  _, state = helpers.run(tx, params, loss, 8)
  assert int(state.restarts) == 1
  assert int(state.inner[1].count) == 8  # the schedule's count went on through the restart
  _, fresh = helpers.run(optimizers.periodic_swa(inner, EVERY, PERIODS, START), params, loss, 8)
  assert int(fresh.inner[1].count) == 1  # the default resets everything (after 1 more step)
