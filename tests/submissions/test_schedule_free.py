"""Schedule-Free AdamW in both published forms against their update equations written out
in float64 with x, y and z all stored (as facebookresearch's reference implementations
do), and the default form against `optax.contrib.schedule_free_adamw` on the same gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from submissions import optimizers
from tests.submissions import helpers

STEPS = 25


def reference(y0, grad, steps, lr, warmup, b1, b2, eps, wd, r, wlp, variant):
  """schedulefree/adamw_schedulefree.py ('algoperf') and adamw_schedulefree_paper.py
  ('paper'), with x kept explicitly."""
  y = helpers.as64(y0)
  z, x = y, y
  v = jax.tree.map(np.zeros_like, y)
  lr_max, weight_sum = -1.0, 0.0
  ys, xs = [], []
  for k in range(steps):
    g = helpers.as64(grad(jax.tree.map(np.float32, y), k))
    sched = (k + 1) / warmup if k < warmup else 1.0
    bias_correction2 = 1 - b2 ** (k + 1)
    lr_k = lr * sched * (np.sqrt(bias_correction2) if variant == 'paper' else 1.0)
    lr_max = max(lr_k, lr_max)
    weight = (k + 1) ** r * lr_max ** wlp
    weight_sum += weight
    c = weight / weight_sum
    v = jax.tree.map(lambda vi, gi: b2 * vi + (1 - b2) * gi * gi, v, g)
    if variant == 'paper':
      denom = jax.tree.map(lambda vi: np.sqrt(vi) + eps, v)
    else:
      denom = jax.tree.map(lambda vi: np.sqrt(vi / bias_correction2) + eps, v)
    step = jax.tree.map(lambda gi, di, yi: gi / di + wd * yi, g, denom, y)  # decay at y
    z = jax.tree.map(lambda zi, si: zi - lr_k * si, z, step)
    x = jax.tree.map(lambda xi, zi: (1 - c) * xi + c * zi, x, z)
    y = jax.tree.map(lambda xi, zi: b1 * xi + (1 - b1) * zi, x, z)
    ys.append(y)
    xs.append(x)
  return ys, xs


def noisy_grad(seed=3):
  params, loss = helpers.quadratic_problem()
  noises = np.random.default_rng(seed).normal(size=STEPS).astype(np.float32)
  return params, lambda p, k: jax.grad(loss)(p, noises[k])


def run(tx, params, grad):
  """(params y, eval params x) after each update."""
  state = tx.init(params)
  step = jax.jit(lambda p, s, g: tx.update(g, s, p))
  p, out = params, []
  for k in range(STEPS):
    updates, state = step(p, state, grad(p, k))
    p = optax.apply_updates(p, updates)
    out.append((p, tx.eval_params(state, p) if hasattr(tx, 'eval_params')
                else optax.contrib.schedule_free_eval_params(state, p)))
  return out


def close(a, b, rtol=1e-4, atol=1e-5):
  jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=rtol, atol=atol), a, b)


@pytest.mark.parametrize('variant', ['algoperf', 'paper'])
@pytest.mark.parametrize('r,warmup,wd', [(0.75, 5, 0.1), (0.0, 0, 0.0), (2.0, 3, 0.5)])
def test_schedule_free_adamw_follows_the_published_equations(variant, r, warmup, wd):
  params, grad = noisy_grad()
  hp = dict(lr=0.05, warmup=warmup, b1=0.9, b2=0.99, eps=1e-8, wd=wd, r=r, wlp=2.0)
  ys, xs = reference(params, grad, STEPS, **hp, variant=variant)
  tx = optimizers.schedule_free_adamw(hp['lr'], hp['warmup'], hp['b1'], hp['b2'], hp['eps'],
                                     hp['wd'], hp['r'], hp['wlp'], variant=variant)
  for (y, x), y_ref, x_ref in zip(run(tx, params, grad), ys, xs):
    close(y, y_ref)
    close(x, x_ref)


def test_the_default_is_optax_schedule_free_adamw():
  """Without warm-up, `optax.contrib.schedule_free_adamw` itself."""
  params, grad = noisy_grad()
  ours = run(optimizers.schedule_free_adamw(0.05, 0, 0.9, 0.99, 1e-8, 0.1), params, grad)
  theirs = run(optax.contrib.schedule_free_adamw(0.05, None, 0.9, 0.99, 1e-8, 0.1), params, grad)
  for (y, x), (y_ref, x_ref) in zip(ours, theirs):
    close(y, y_ref, rtol=1e-5, atol=1e-6)
    close(x, x_ref, rtol=1e-5, atol=1e-6)


def test_with_warmup_the_default_is_optax_schedule_free_with_aligned_counts():
  """optax's base optimizer reads the schedule at its own count (0 at the first update) and
  the weights at `step_count` (1 at the first update); with both fed the warm-up at the
  update's index k (0-based), optax's composition is the default form."""
  params, grad = noisy_grad(seed=4)
  lr, warmup, b1, b2, eps, wd = 0.05, 6, 0.9, 0.99, 1e-8, 0.1
  sched = lambda k: lr * jnp.minimum(1.0, (k + 1.0) / warmup)  # k: the update, from 0
  base = optax.chain(optax.scale_by_rms(b2, eps, eps_in_sqrt=False, bias_correction=True),
                     optax.add_decayed_weights(wd), optax.scale_by_learning_rate(sched))
  theirs = optax.contrib.schedule_free(base, lambda count: sched(count - 1), b1=b1)
  ours = optimizers.schedule_free_adamw(lr, warmup, b1, b2, eps, wd)
  for (y, x), (y_ref, x_ref) in zip(run(ours, params, grad), run(theirs, params, grad)):
    close(y, y_ref, rtol=1e-5, atol=1e-6)
    close(x, x_ref, rtol=1e-5, atol=1e-6)
  # optax's own warm-up is off by one: its first update has rate 0 (y moves by rounding).
  stock = run(optax.contrib.schedule_free_adamw(lr, warmup, b1, b2, eps, wd), params, grad)
  close(stock[0][0], params, rtol=0, atol=1e-6)


def test_the_forms_differ_early_and_r_changes_the_average_only():
  params, grad = noisy_grad()
  out = {(v, r): run(optimizers.schedule_free_adamw(0.05, 0, r=r, variant=v), params, grad)
         for v in ('algoperf', 'paper') for r in (0.0, 0.75)}
  gap = max(np.abs(a - b).max() for a, b in zip(
      jax.tree.leaves(out['algoperf', 0.0][-1][1]), jax.tree.leaves(out['paper', 0.0][-1][1])))
  assert gap > 1e-3
  # r leaves the first step (c_1 = 1) and changes the average later.
  close(out['algoperf', 0.0][0][0], out['algoperf', 0.75][0][0], rtol=1e-6, atol=1e-7)
  assert not np.allclose(out['algoperf', 0.0][-1][1]['bias'], out['algoperf', 0.75][-1][1]['bias'])


def test_b1_and_variant_are_checked_and_state_is_float32():
  with pytest.raises(ValueError):
    optimizers.schedule_free_adamw(b1=0.0)
  with pytest.raises(ValueError, match='variant'):
    optimizers.schedule_free_adamw(variant='pytorch')
  state = optimizers.schedule_free_adamw().init({'w': jnp.ones(2, jnp.bfloat16)})
  assert state.z['w'].dtype == jnp.float32
