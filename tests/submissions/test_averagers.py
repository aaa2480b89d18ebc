"""EMA, SWA and LAWA against hand-written loops over a recorded trajectory."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from submissions import averagers
from tests.submissions import helpers

STEPS = 40


@pytest.fixture(scope='module')
def trajectory():
  params, loss = helpers.quadratic_problem()
  traj, _ = helpers.run(optax.adam(0.05), params, loss, STEPS)
  return params, loss, traj


def hand_ema(traj, decay, start, every, warmup=None, power=2 / 3):
  avg, n = None, 0
  for t, p in enumerate(traj, start=1):
    if t < start or (t - start) % every:
      continue
    if warmup == 'tf':
      d = min(decay, (1 + n) / (10 + n))
    elif warmup == 'power':
      d = min(decay, 1 - (1 + n) ** -power)
    else:
      d = decay
    p = helpers.as64(p)
    avg = p if avg is None else jax.tree.map(lambda a, x: d * a + (1 - d) * x, avg, p)
    n += 1
  return avg


@pytest.mark.parametrize('decay,start,every,warmup', [
    (0.9, 0, 1, None), (0.8, 5, 3, None), (0.99, 0, 1, 'tf'), (0.999, 2, 2, 'power')])
def test_ema_matches_a_hand_loop(trajectory, decay, start, every, warmup):
  params, loss, traj = trajectory
  tx = averagers.with_average(optax.adam(0.05), averagers.ema(decay, start, every, warmup))
  got_traj, state = helpers.run(tx, params, loss, STEPS)
  # The wrapper leaves training untouched, bit for bit.
  for a, b in zip(got_traj, traj):
    jax.tree.map(np.testing.assert_array_equal, a, b)
  expected = hand_ema(traj, decay, start, every, warmup)
  got = tx.eval_params(state, got_traj[-1])
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=2e-6, atol=2e-6), got, expected)
  assert int(state.average.count) == sum(
      1 for t in range(1, STEPS + 1) if t >= start and (t - start) % every == 0)


@pytest.mark.parametrize('start,every', [(0, 1), (5, 3)])
def test_ema_tensorflow_warmup_is_tf_train_exponential_moving_average(trajectory, start,
                                                                      every):
  """TensorFlow's definition: shadow = initial value; at each apply, with num_updates the
  global step t, decay = min(beta, (1 + t) / (10 + t)) and shadow -= (1 - decay) *
  (shadow - variable)."""
  params, loss, traj = trajectory
  tx = averagers.with_average(optax.adam(0.05),
                              averagers.ema(0.95, start, every, warmup='tensorflow'))
  _, state = helpers.run(tx, params, loss, STEPS)
  shadow = helpers.as64(params)
  for t, p in enumerate(traj, start=1):
    if t < start or (t - start) % every:
      continue
    decay = min(0.95, (1 + t) / (10 + t))
    shadow = jax.tree.map(lambda s, x: s - (1 - decay) * (s - x), shadow, helpers.as64(p))
  got = tx.eval_params(state, traj[-1])
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=2e-6, atol=2e-6), got, shadow)
  # Not the EMA that starts at its first update (the initial weights still weigh in).
  other = averagers.with_average(optax.adam(0.05), averagers.ema(0.95, start, every, 'tf'))
  _, other_state = helpers.run(other, params, loss, STEPS)
  assert not np.allclose(other.eval_params(other_state, traj[-1])['bias'], got['bias'],
                         atol=1e-4)


def test_ema_before_its_first_update_is_the_raw_params(trajectory):
  params, _, _ = trajectory
  tx = averagers.with_average(optax.sgd(0.1), averagers.ema(0.9, start=10))
  state = tx.init(params)
  raw = jax.tree.map(lambda p: p + 1.0, params)
  assert tx.eval_params(state, raw) is raw


def test_swa_matches_a_hand_loop(trajectory):
  params, loss, traj = trajectory
  start, every = 7, 4
  tx = averagers.with_average(optax.adam(0.05), averagers.swa(start, every))
  _, state = helpers.run(tx, params, loss, STEPS)
  taken = [helpers.as64(p) for t, p in enumerate(traj, start=1)
           if t >= start and (t - start) % every == 0]
  expected = jax.tree.map(lambda *xs: np.mean(xs, axis=0), *taken)
  got = tx.eval_params(state, traj[-1])
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6), got, expected)
  assert int(state.average.count) == len(taken) == 9


@pytest.mark.parametrize('host_buffer', [False, True])
def test_lawa_is_the_mean_of_the_last_l_snapshots(trajectory, host_buffer):
  params, loss, traj = trajectory
  length, every, start = 3, 4, 2
  # The identity as the inner transformation: the wrapper then follows the recorded points.
  tx = averagers.with_average(optax.identity(), averagers.lawa(length, every, start, host_buffer))
  state = tx.init(params)
  kind = 'pinned_host' if host_buffer else 'device'
  assert {x.sharding.memory_kind for x in jax.tree.leaves(state.average.buffer)} == {kind}

  # The updates come first among the outputs, with the shapes of the host buffer's slots:
  # donation must still pair the host buffers with themselves.
  step = jax.jit(lambda p, s, g: tx.update(g, s, p), donate_argnums=1)
  p = params
  taken = []
  for t, target in enumerate(traj, start=1):
    # Drive the wrapper along the recorded trajectory: updates = next point - current point.
    updates = jax.tree.map(lambda a, b: jnp.asarray(a) - b, target, p)
    _, state = step(p, state, updates)
    p = optax.apply_updates(p, updates)
    if t >= start and (t - start) % every == 0:
      taken.append(helpers.as64(p))
    got = tx.eval_params(state, p)
    if len(taken) < length:  # raw params until the buffer is full
      assert got is p
    else:
      expected = jax.tree.map(lambda *xs: np.mean(xs, axis=0), *taken[-length:])
      jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5),
                   got, expected)
  assert len(taken) == 10
  snapshots = state.average.snapshots()  # slot k holds snapshot number k mod L
  for k in range(length):
    last = max(i for i in range(len(taken)) if i % length == k)
    jax.tree.map(lambda g, e: np.testing.assert_array_equal(g[k], e.astype(np.float32)),
                 snapshots, taken[last])
  assert {x.sharding.memory_kind for x in jax.tree.leaves(state.average.buffer)} == {kind}
  # The sum is the sum of the last L snapshots, on the device.
  total = state.average.total()
  assert {x.sharding.memory_kind for x in jax.tree.leaves(total)} == {'device'}
  jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5),
               total, jax.tree.map(lambda *xs: np.sum(xs, axis=0), *taken[-length:]))


@pytest.mark.parametrize('host_buffer', [False, True])
def test_lawa_error_does_not_grow_with_the_number_of_snapshots(host_buffer):
  """Weights of magnitude 100, 5000 snapshots: the mean of the last L stays within a few
  float32 roundings of the float64 mean (a running add/subtract sum drifts to ~1e-3)."""
  length, n, width = 8, 5000, 256
  rng = np.random.default_rng(0)
  base = 100.0 + rng.normal(size=width)
  steps = rng.normal(size=(n, width)).astype(np.float32) * 0.01
  snapshots = (base + np.cumsum(steps.astype(np.float64), axis=0)).astype(np.float32)
  averager = averagers.lawa(length, 1, host_buffer=host_buffer)

  @jax.jit
  def run(state, xs):
    def body(state, tx):
      t, x = tx
      return averager.update({'w': x}, state, t), None
    return jax.lax.scan(body, state, (jnp.arange(1, n + 1), xs))[0]

  state = run(averager.init({'w': jnp.zeros(width)}), jnp.asarray(snapshots))
  got = np.asarray(averager.result(state, {'w': jnp.zeros(width)})['w'], np.float64)
  want = snapshots[-length:].astype(np.float64).mean(axis=0)
  assert np.abs(got - want).max() < length * np.finfo(np.float32).eps * 100  # ~1e-4


def test_lawa_under_jit_inside_a_cond_reads_raw_until_full():
  avg = averagers.lawa(length=4, every=1)
  params = {'w': jnp.zeros(2)}
  state = avg.init(params)
  read = jax.jit(avg.result)
  for t in range(1, 4):
    state = avg.update({'w': jnp.full(2, float(t))}, state, t)
    np.testing.assert_array_equal(read(state, {'w': jnp.full(2, -1.0)})['w'], [-1.0, -1.0])
  state = avg.update({'w': jnp.full(2, 4.0)}, state, 4)
  np.testing.assert_allclose(read(state, params)['w'], [2.5, 2.5])


def test_with_averages_many_from_one_run(trajectory):
  params, loss, traj = trajectory
  rules = {'ema_0.9': averagers.ema(0.9), 'ema_0.5': averagers.ema(0.5, every=3),
           'swa': averagers.swa(start=10), 'lawa_5': averagers.lawa(5, 2),
           'lawa_host': averagers.lawa(5, 2, host_buffer=True)}
  tx = averagers.with_averages(optax.adam(0.05), rules)
  got_traj, state = helpers.run(tx, params, loss, STEPS)
  for a, b in zip(got_traj, traj):
    jax.tree.map(np.testing.assert_array_equal, a, b)
  named = tx.averages(state, got_traj[-1])
  assert sorted(named) == sorted(rules)
  expected = {
      'ema_0.9': hand_ema(traj, 0.9, 0, 1),
      'ema_0.5': hand_ema(traj, 0.5, 0, 3),
      'swa': jax.tree.map(lambda *xs: np.mean(xs, axis=0), *map(helpers.as64, traj[9:])),
      'lawa_5': jax.tree.map(lambda *xs: np.mean(xs, axis=0),
                             *map(helpers.as64, traj[1::2][-5:])),
  }
  expected['lawa_host'] = expected['lawa_5']
  for name, want in expected.items():
    jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5),
                 named[name], want)


def test_averages_are_float32_for_bfloat16_params():
  params = {'w': jnp.ones(3, jnp.bfloat16)}
  tx = averagers.with_averages(optax.sgd(0.1), {'e': averagers.ema(0.9),
                                               'l': averagers.lawa(2, 1)})
  state = tx.init(params)
  assert {x.dtype for x in jax.tree.leaves(state.averages) if x.ndim} == {jnp.dtype('float32')}
  updates, state = tx.update({'w': jnp.ones(3, jnp.bfloat16)}, state, params)
  assert tx.averages(state, params)['e']['w'].dtype == jnp.bfloat16


def test_unknown_warmup_and_bad_periods_are_rejected():
  with pytest.raises(ValueError, match='warm-up'):
    averagers.ema(0.9, warmup='cosine')
  with pytest.raises(ValueError, match='every'):
    averagers.swa(every=0).update({'w': jnp.zeros(1)},
                                  averagers.swa().init({'w': jnp.zeros(1)}), 1)
  with pytest.raises(ValueError, match='length'):
    averagers.lawa(0, 1)


@pytest.mark.parametrize('window,every', [(8, 1), (9, 3)])
def test_windowed_swa_follows_hageles_weight_averager(trajectory, window, every):
  """epfml/schedules-and-scaling's WeightAverager, written out: `count` counts steps before
  this one; at count % interval == 0, avg = lerp(avg, x, 1 / ((count % horizon) // interval
  + 1)); after count += 1, when count % horizon == 0 the average is saved; the eval loads
  the latest saved one."""
  params, loss, traj = trajectory
  # The identity as the inner transformation: the wrapper then follows the recorded points.
  tx = averagers.with_average(optax.identity(), averagers.windowed_swa(window, every))
  state = tx.init(params)
  step = jax.jit(lambda p, s, g: tx.update(g, s, p))
  avg, saved, count, p = None, None, 0, params
  for t, target in enumerate(traj, start=1):
    updates = jax.tree.map(lambda a, b: jnp.asarray(a) - b, target, p)
    _, state = step(p, state, updates)
    p = optax.apply_updates(p, updates)
    x = helpers.as64(p)
    if count % every == 0:
      rate = 1 / ((count % window) // every + 1)
      avg = x if rate == 1 else jax.tree.map(lambda a, b: a + rate * (b - a), avg, x)
    count += 1
    if count % window == 0:
      saved = avg
    got = tx.eval_params(state, p)
    if saved is None:
      assert got is p
    else:
      jax.tree.map(lambda g, e: np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5),
                   got, saved)
  assert int(state.average.completed) == STEPS // window


def test_windowed_swa_needs_a_window_that_every_divides():
  with pytest.raises(ValueError, match='multiple'):
    averagers.windowed_swa(10, 3)
