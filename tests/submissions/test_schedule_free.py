"""Schedule-Free AdamW against the published update equations, written out in float64 with
x, y and z all stored (as the paper's reference implementation does)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from submissions import averagers, optimizers
from tests.submissions import helpers


def reference(y0, grad, steps, lr, warmup, b1, b2, eps, wd, r, wlp):
  y = helpers.as64(y0)
  z, x = y, y
  v = jax.tree.map(np.zeros_like, y)
  lr_max, weight_sum = -1.0, 0.0
  ys, xs = [], []
  for k in range(steps):
    g = helpers.as64(grad(jax.tree.map(np.float32, y), k))
    sched = (k + 1) / warmup if k < warmup else 1.0
    lr_k = lr * sched * np.sqrt(1 - b2 ** (k + 1))
    lr_max = max(lr_k, lr_max)
    weight = (k + 1) ** r * lr_max ** wlp
    weight_sum += weight
    c = weight / weight_sum
    z = jax.tree.map(lambda zi, yi: zi - lr_k * wd * yi, z, y)  # decay at y
    v = jax.tree.map(lambda vi, gi: b2 * vi + (1 - b2) * gi * gi, v, g)
    z = jax.tree.map(lambda zi, gi, vi: zi - lr_k * gi / (np.sqrt(vi) + eps), z, g, v)
    x = jax.tree.map(lambda xi, zi: (1 - c) * xi + c * zi, x, z)
    y = jax.tree.map(lambda xi, zi: b1 * xi + (1 - b1) * zi, x, z)
    ys.append(y)
    xs.append(x)
  return ys, xs


@pytest.mark.parametrize('r,warmup,wd', [(0.75, 5, 0.1), (0.0, 0, 0.0), (2.0, 3, 0.5)])
def test_schedule_free_adamw_follows_the_published_equations(r, warmup, wd):
  params, loss = helpers.quadratic_problem()
  noises = np.random.default_rng(3).normal(size=25).astype(np.float32)
  grad = lambda p, k: jax.grad(loss)(p, noises[k])
  hp = dict(lr=0.05, warmup=warmup, b1=0.9, b2=0.99, eps=1e-8, wd=wd, r=r, wlp=2.0)
  ys, xs = reference(params, grad, 25, **hp)

  tx = optimizers.schedule_free_adamw(hp['lr'], hp['warmup'], hp['b1'], hp['b2'], hp['eps'],
                                     hp['wd'], hp['r'], hp['wlp'])
  state = tx.init(params)
  step = jax.jit(lambda p, s, g: tx.update(g, s, p))
  p = params
  for k in range(25):
    updates, state = step(p, state, grad(p, k))
    p = optax.apply_updates(p, updates)
    tol = dict(rtol=1e-4, atol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol), p, ys[k])
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, **tol),
                 tx.eval_params(state, p), xs[k])


def test_r_changes_the_average_but_not_the_first_step():
  params, loss = helpers.quadratic_problem()
  grad = jax.grad(loss)
  out = {}
  for r in (0.0, 0.75):
    tx = optimizers.schedule_free_adamw(0.05, 3, r=r)
    state, p = tx.init(params), params
    for k in range(6):
      updates, state = tx.update(grad(p), state, p)
      p = optax.apply_updates(p, updates)
      if k == 0:
        first = p
    out[r] = (first, tx.eval_params(state, p))
  jax.tree.map(np.testing.assert_allclose, out[0.0][0], out[0.75][0])
  assert not np.allclose(out[0.0][1]['bias'], out[0.75][1]['bias'])


def test_b1_must_be_positive():
  with pytest.raises(ValueError):
    optimizers.schedule_free_adamw(b1=0.0)
  assert optimizers.schedule_free_adamw().init({'w': jnp.ones(2, jnp.bfloat16)}).z['w'].dtype == jnp.float32
