"""Trainable weight averaging, the conference form (Li et al., ICLR 2023, "Trainable Weight
Averaging: Efficient Training by Optimizing Historical Solutions"; nblt/TWA, train_twa.py
with `--extract Schmidt --train_start -1`): the stored checkpoints themselves (not their
deviations from the mean) are orthonormalised by Gram-Schmidt over the whole model, training
restarts from their mean, and every later gradient is projected onto their span,
g <- P^T (P g), before an SGD step on the full weights (their `P_SGD`: momentum and weight
decay applied by `torch.optim.SGD` after the projection, so the weights stay in the span).

Phase 1 is the journal form's (`trainable_weight_averaging`): the inner optimizer trains and
a checkpoint is stored every `every` updates. At update `switch` the buffer is
orthonormalised in place (classical Gram-Schmidt as the reference, with a second pass for
float32) and the params jump to the mean. Phase 2: `projected_optimizer` (default: SGD with
momentum 0.9 and weight decay 1e-5, the reference's run.sh) steps on the projected gradient.

Memory, in copies of the params: n (the checkpoints, then the basis), plus the projected
optimizer's state.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from submissions.averagers._base import AveragedTransformation, gate
from submissions.optimizers._twa import _combine


class TwaConferenceState(NamedTuple):
  """inner: the phase-1 optimizer's state; basis: (n, ...) float32 per leaf, the checkpoints,
  orthonormal rows from the switch on; projected: the phase-2 optimizer's state;
  snapshots: checkpoints stored; count: updates applied."""

  inner: optax.OptState
  basis: optax.Params
  projected: optax.OptState
  snapshots: jax.Array
  count: jax.Array


def _dots(basis, tree) -> jax.Array:
  """(n,) inner products <basis[i], tree> over the whole param tree."""
  return sum(jnp.stack([jnp.vdot(b[i], t) for i in range(b.shape[0])])
             for b, t in zip(jax.tree.leaves(basis), jax.tree.leaves(tree)))


def _project(basis, tree):
  """sum_i <basis[i], tree> basis[i]: the orthogonal projection onto the rows' span."""
  coefficients = _dots(basis, tree)
  return jax.tree.map(lambda b: _combine(coefficients, b), basis)


def gram_schmidt(basis, filled: jax.Array):
  """The rows orthonormalised in order over the whole tree (classical Gram-Schmidt, twice);
  rows not `filled`, or in the span of the earlier ones, become zero."""
  n = filled.shape[0]
  for i in range(n):
    row = jax.tree.map(lambda b: b[i], basis)
    for _ in range(2):
      earlier = (jnp.arange(n) < i).astype(jnp.float32)
      coefficients = _dots(basis, row) * earlier
      row = jax.tree.map(lambda r, b: r - _combine(coefficients, b), row, basis)
    norm = jnp.sqrt(sum(jnp.vdot(r, r) for r in jax.tree.leaves(row)))
    original = jnp.sqrt(sum(jnp.vdot(b[i], b[i]) for b in jax.tree.leaves(basis)))
    keep = filled[i] & (norm > 1e-6 * original)
    scale = jnp.where(keep, 1.0 / jnp.where(keep, norm, 1.0), 0.0)
    basis = jax.tree.map(lambda b, r: b.at[i].set(r * scale), basis, row)
  return basis


def trainable_weight_averaging_conference(
    inner: optax.GradientTransformation, num_checkpoints: int, every: int, switch: int,
    start: int = 0, projected_optimizer: optax.GradientTransformation | None = None,
    phase: int | None = None) -> AveragedTransformation:
  """`inner` until update `switch`, then TWA (conference form): projected SGD in the span of
  the checkpoints stored along the way, from their mean.

  Args:
    inner, num_checkpoints, every, switch, start: as `trainable_weight_averaging`'s.
    projected_optimizer: the phase-2 optimizer, handed the projected gradient (default:
      `optax.sgd` with momentum 0.9, rate 0.1, after weight decay 1e-5); pass one with the
      reference's step schedule (x0.1 at 50% and 75% of phase 2) to follow it.
    phase: as `trainable_weight_averaging`'s (None: one program; 1 or 2: that phase's).

  Returns:
    A transformation whose state is a `TwaConferenceState`; an eval sees the params.

  >>> tx = trainable_weight_averaging_conference(optax.sgd(1.0), 2, every=1, switch=2,
  ...                                            projected_optimizer=optax.sgd(1.0))
  >>> params = {'w': jnp.zeros(3)}
  >>> state = tx.init(params)
  >>> for g in ([-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [1.0, 1.0, 5.0]):
  ...   updates, state = tx.update({'w': jnp.array(g)}, state, params)
  ...   params = optax.apply_updates(params, updates)
  >>> params['w'].tolist()  # the mean [1, .5, 0], then a step within span(e1, e2)
  [0.0, -0.5, 0.0]
  """
  if projected_optimizer is None:
    projected_optimizer = optax.chain(optax.add_decayed_weights(1e-5),
                                      optax.sgd(0.1, momentum=0.9))
  twa = _TwaConference(optax.with_extra_args_support(inner),
                       optax.with_extra_args_support(projected_optimizer), num_checkpoints,
                       every, switch, start, phase)
  return AveragedTransformation(twa.init, twa.update)


class _TwaConference(NamedTuple):
  """The settings of one transformation; its methods are the transformation's parts."""

  inner: optax.GradientTransformationExtraArgs
  projected_tx: optax.GradientTransformationExtraArgs
  n: int
  every: int
  switch: int
  start: int
  phase: int | None

  def init(self, params) -> TwaConferenceState:
    basis = jax.tree.map(
        lambda p: jnp.zeros_like(p, dtype=jnp.float32, shape=(self.n, *p.shape)), params)
    return TwaConferenceState(self.inner.init(params), basis, self.projected_tx.init(params),
                              jnp.zeros([], jnp.int32), jnp.zeros([], jnp.int32))

  def filled(self, snapshots):
    return jnp.arange(self.n) < snapshots

  def phase2(self, grads, state, params):
    g = jax.tree.map(lambda x: x.astype(jnp.float32), grads)
    projected = jax.tree.map(lambda p, x: p.astype(x.dtype), _project(state.basis, g), grads)
    return self.projected_tx.update(projected, state.projected, params)

  def at_switch(self, state, params):
    """Orthonormalise the buffer (in place) and jump to the checkpoints' mean."""
    weights = self.filled(state.snapshots).astype(jnp.float32)
    weights = weights / jnp.maximum(weights.sum(), 1.0)
    mean = jax.tree.map(lambda b: _combine(weights, b), state.basis)
    jump = jax.tree.map(lambda m, p: m.astype(p.dtype) - p, mean, params)
    return jump, gram_schmidt(state.basis, self.filled(state.snapshots))

  def store(self, new_params, operand):
    """Phase 1: the checkpoint written into its ring-buffer slot (in place)."""
    basis, snapshots = operand
    slot = jnp.mod(snapshots, self.n)
    basis = jax.tree.map(
        lambda b, p: jax.lax.dynamic_update_index_in_dim(b, p.astype(jnp.float32), slot, 0),
        basis, new_params)
    return basis, snapshots + 1

  def update(self, grads, state, params=None, **extra_args):
    if params is None:
      raise ValueError('TWA needs the params: call update(grads, state, params)')
    count = optax.safe_increment(state.count)
    if self.phase == 2:
      updates, projected = self.phase2(grads, state, params)
      return updates, state._replace(projected=projected, count=count)

    updates, inner_state = self.inner.update(grads, state.inner, params, **extra_args)
    new_params = optax.apply_updates(params, updates)
    basis, snapshots = jax.lax.cond(
        (count <= self.switch) & gate(count, self.start, self.every),
        lambda o: self.store(new_params, o), lambda o: o, (state.basis, state.snapshots))
    state = state._replace(inner=inner_state, basis=basis, snapshots=snapshots, count=count)
    switching = lambda o: self.at_switch(state._replace(basis=o[1]), params)
    if self.phase == 1:
      updates, basis = jax.lax.cond(count == self.switch, switching, lambda o: o,
                                    (updates, state.basis))
      return updates, state._replace(basis=basis)
    branch = jnp.where(count < self.switch, 0, jnp.where(count == self.switch, 1, 2))

    def projected_step(o):
      step, projected = self.phase2(grads, state, params)
      return step, o[1], projected

    updates, basis, projected = jax.lax.switch(
        branch, (lambda o: o, lambda o: (*switching(o), o[2]), projected_step),
        (updates, state.basis, state.projected))
    return updates, state._replace(basis=basis, projected=projected)
