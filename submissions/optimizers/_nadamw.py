"""NAdamW as in AlgoPerf's baseline (Dozat's NAdam in the simple form of Table 1 of
arXiv:1910.05446, with decoupled weight decay scaled by the learning rate).

It differs from `optax.nadamw`, whose Nesterov step corrects the momentum and the gradient
with different bias terms; this one corrects `b1 * m_t + (1 - b1) * g_t` by `1 - b1^t`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class ScaleByNadamState(NamedTuple):
  count: jax.Array
  mu: optax.Updates
  nu: optax.Updates


def scale_by_nadam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                   eps_root: float = 0.0) -> optax.GradientTransformation:
  """Rescales updates by NAdam's bias-corrected Nesterov momentum over its second moment.

  At the first step with gradient g, m = (1 - b1) g and the Nesterov term
  (b1 m + (1 - b1) g) / (1 - b1) = (1 + b1) g, over sqrt(v_hat) = |g|:

  >>> tx = scale_by_nadam()
  >>> updates, _ = tx.update({'w': jnp.ones(2)}, tx.init({'w': jnp.zeros(2)}))
  >>> [round(float(u), 4) for u in updates['w']]
  [1.9, 1.9]
  """

  def init_fn(params):
    return ScaleByNadamState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params),
                             jax.tree.map(jnp.zeros_like, params))

  def update_fn(updates, state, params=None):
    del params
    mu = jax.tree.map(lambda g, m: b1 * m + (1 - b1) * g, updates, state.mu)
    nu = jax.tree.map(lambda g, v: b2 * v + (1 - b2) * g * g, updates, state.nu)
    count = state.count + 1
    c1 = 1 - b1 ** count.astype(jnp.float32)
    c2 = 1 - b2 ** count.astype(jnp.float32)
    new = jax.tree.map(
        lambda g, m, v: ((b1 * m + (1 - b1) * g) / c1) / (jnp.sqrt(v / c2 + eps_root) + eps),
        updates, mu, nu)
    return new, ScaleByNadamState(count, mu, nu)

  return optax.GradientTransformation(init_fn, update_fn)


def nadamw(learning_rate: optax.ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999,
           eps: float = 1e-8, weight_decay: float = 0.0,
           weight_decay_mask=None) -> optax.GradientTransformation:
  """NAdam with weight decay added to the update before the learning rate scales it."""
  return optax.chain(
      scale_by_nadam(b1, b2, eps),
      optax.add_decayed_weights(weight_decay, weight_decay_mask),
      optax.scale_by_learning_rate(learning_rate),
  )
