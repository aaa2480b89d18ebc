"""PSWA against a hand-written SGD-momentum loop with restarts and a final SWA phase, in
float64, as ZJLAB-AMMI/PSWA's pswa.py runs it; what an eval sees; and sgd_pswa's batch-norm
statistics at a restart."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from avgperf import tuning
from configs.submissions import default_point
from submissions import averagers, optimizers, sgd_pswa
from submissions.common.optax_submission import OptaxSubmission
from tests.submissions import helpers
from tests.submissions.test_batch_norm import _BnWorkload

LR, MOMENTUM, EVERY, PERIODS, START, STEPS = 0.05, 0.9, 3, 2, 4, 30


def hand_pswa(params, loss, final_swa_start=None):
  """Heavy-ball momentum m <- g + mu m, w <- w - lr m; a snapshot at t = 4, 7, 10, ... into
  the running mean (swa_model); after every second one up to final_swa_start, w <- the
  mean and m <- 0. Returns the weights and what an eval sees (swa_model, or the weights
  before the first snapshot) after each update, and the restart updates."""
  noises = np.random.default_rng(1).normal(size=STEPS).astype(np.float32) * 0.3
  w = helpers.as64(params)
  m = jax.tree.map(np.zeros_like, w)
  swa_model, n, restarts, weights, evaluated = None, 0, [], [], []
  for t, noise in enumerate(noises, start=1):
    g = helpers.as64(jax.grad(loss)(jax.tree.map(np.float32, w), noise))
    m = jax.tree.map(lambda mi, gi: gi + MOMENTUM * mi, m, g)
    w = jax.tree.map(lambda wi, mi: wi - LR * mi, w, m)
    if t >= START and (t - START) % EVERY == 0:
      swa_model = w if n == 0 else jax.tree.map(lambda a, x: a + (x - a) / (n + 1), swa_model, w)
      n += 1
      if n == PERIODS and (final_swa_start is None or t <= final_swa_start):
        w, n = swa_model, 0
        m = jax.tree.map(np.zeros_like, m)
        restarts.append(t)
    weights.append(w)
    evaluated.append(w if swa_model is None else swa_model)
  return weights, evaluated, restarts


def run_and_evaluate(tx, params, loss):
  """Like helpers.run, also returning eval_params after each update."""
  noises = np.random.default_rng(1).normal(size=STEPS).astype(np.float32) * 0.3
  step = jax.jit(lambda p, s, noise: (lambda u_s: (optax.apply_updates(p, u_s[0]), u_s[1]))(
      tx.update(jax.grad(loss)(p, noise), s, p)))
  state, p, weights, evaluated = tx.init(params), params, [], []
  for noise in noises:
    p, state = step(p, state, noise)
    weights.append(p)
    evaluated.append(tx.eval_params(state, p))
  return weights, evaluated, state


def close(a, b, rtol=1e-4, atol=1e-5):
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=rtol, atol=atol), a, b)


@pytest.mark.parametrize('final_swa_start', [None, 15])
def test_pswa_matches_the_hand_loop_and_evaluates_swa_model(final_swa_start):
  params, loss = helpers.quadratic_problem()
  tx = optimizers.periodic_swa(optax.sgd(LR, momentum=MOMENTUM), EVERY, PERIODS, START,
                               final_swa_start=final_swa_start)
  weights, evaluated, state = run_and_evaluate(tx, params, loss)
  want_weights, want_evaluated, restarts = hand_pswa(params, loss, final_swa_start)
  assert restarts == ([7, 13, 19, 25] if final_swa_start is None else [7, 13])
  assert restarts == [t for t in range(1, STEPS + 1)
                      if optimizers.is_restart(t, EVERY, PERIODS, START, final_swa_start)]
  assert int(state.restarts) == len(restarts)
  for t, (got, want) in enumerate(zip(weights, want_weights), start=1):
    close(got, want)
  for t, (got, want) in enumerate(zip(evaluated, want_evaluated), start=1):
    close(got, want)
    if t > START and t % EVERY != START % EVERY:  # between snapshots: not the raw weights
      assert not np.allclose(got['bias'], weights[t - 1]['bias'], atol=1e-4), t


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


def test_sgd_pswa_restarts_with_the_statistics_of_the_average():
  """At a restart update the training model state's batch-norm statistics are those of the
  restart point (recomputed over the submission's batches); at other updates they are the
  training step's."""
  w = _BnWorkload()
  w.step_hint = 50
  w.loss_fn = lambda targets, logits, weights, smoothing: {
      'summed': (logits ** 2).sum(), 'n_valid_examples': logits.shape[0]}
  h = tuning.make_hyperparameters(dict(default_point('sgd_pswa'), pswa_period_fraction=0.02,
                                       pswa_periods=2))
  steps = sgd_pswa.pswa_steps(w, h)
  restart = next(t for t in range(1, 50) if optimizers.is_restart(t, **steps))
  sub = sgd_pswa.PswaSubmission(make_tx=sgd_pswa.make_tx, batch_size=lambda name: 4,
                                recompute_batch_stats=sgd_pswa.BATCH_STATS_BATCHES)
  plain = OptaxSubmission(make_tx=sgd_pswa.make_tx, batch_size=lambda name: 4)
  params, state = w.init()
  opt_state = sub.init_optimizer_state(w, params, state, h, None)
  batch = {'inputs': w.data[:8], 'targets': np.zeros(8, np.int32)}
  batches = list(w.input_iterator('train', None, 4))
  for global_step in range(restart):
    rng = jax.random.PRNGKey(global_step)
    copy = lambda tree: jax.tree.map(jnp.copy, tree)  # the steps donate their inputs
    expected_state = plain.update_params(w, copy(params), None, state, h, batch, None,
                                         copy(opt_state), [], global_step, rng)
    opt_state, params, state = sub.update_params(w, params, None, state, h, batch, None,
                                                 opt_state, [], global_step, rng)
    if global_step + 1 < restart:
      jax.tree.map(np.testing.assert_allclose, state, expected_state[2])
  assert int(opt_state.restarts) == 1
  recomputed = averagers.recompute_batch_stats(w, params, expected_state[2], batches)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), state,
               recomputed)
  assert not np.allclose(state['batch_stats']['BatchNorm_0']['mean'],
                         expected_state[2]['batch_stats']['BatchNorm_0']['mean'])
