"""Trainable weight averaging, the journal form (Li et al., "Trainable Weight Averaging: A
General Approach for Subspace Training"; nblt/TWA, journal/model_soups/
train_block_noOrthogonal.py and journal/machine_translation/_adamtrain_twa.py): the params
become w = mean + sum_i X_i P_i over `n` stored checkpoints, with P_i = (checkpoint_i - mean)
normalised to unit norm within each block (a param leaf here: their `--layer-size 0`) and
layer-wise coefficients X (one per checkpoint per leaf) trained by AdamW from 0, its rate a
cosine with warm-up (`twa_coefficient_schedule`). The conference form (a Gram-Schmidt basis
of the checkpoints, projected SGD on the weights) is `trainable_weight_averaging_conference`.

Phase 1 (updates 1..switch): the inner optimizer trains, and a checkpoint is stored every
`every` updates from `start` in a ring buffer of `n`. (The inner optimizer keeps running in
phase 2, its updates discarded: cheaper on XLA than passing its state through a branch.) At
update `switch` the mean and each row's norm are computed (and, optionally, the normalised
rows quantised to `bits` bits: uniform affine with one min/max per checkpoint per leaf, or
one per leaf over all checkpoints) and the params jump to the mean (X = 0). Phase 2: each
update takes the gradient of the loss with respect to the params at w(X) (what any train
step computes) and pulls it back to X through the reconstruction with `jax.vjp` -- autodiff,
no hand-written projection; for the normalised basis it is the reference's X.grad[:, i] =
P[:, block] @ grad[block] -- then AdamW steps X and the update is w(X') - w(X). TWA-t trains
X on training batches; TWA-v on a held-out part of the training data (`holdout_mask` and
the batch helpers of `_twa_holdout`, used by the submission's data selection).

With `shard_basis=True` the checkpoint axis of the basis is split across all devices (the
paper's distributed version); the reconstruction then sums across devices.

Memory, in copies of the params: n (float32 checkpoints), 1 (the mean), and with
quantisation n * bits / 32 more for the codes of the normalised rows.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from submissions.averagers._base import AveragedTransformation, cast_like, gate


class TwaState(NamedTuple):
  """inner: the phase-1 optimizer's state; basis: (n, ...) float32 per leaf, the checkpoints
  (P_i = (basis[i] - mean) / norms[i], formed on the fly); mean: float32, set at the switch;
  norms: (n,) per leaf, ||basis[i] - mean|| over the leaf (1 where it is 0 or the slot
  empty); codes, scale, offset: the quantised normalised rows (None without quantisation);
  coeffs: X, (n,) per leaf; coeff_state: AdamW's state for X; snapshots: checkpoints stored;
  count: updates applied."""

  inner: optax.OptState
  basis: optax.Params
  mean: optax.Params
  norms: optax.Params
  codes: optax.Params | None
  scale: optax.Params | None
  offset: optax.Params | None
  coeffs: optax.Params
  coeff_state: optax.OptState
  snapshots: jax.Array
  count: jax.Array


QUANTIZATIONS = ('per_checkpoint', 'per_block')


def quantize(x: jax.Array, bits: int, per_checkpoint: bool = True, rows=None,
             ) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Uniform affine quantisation of x (n, ...) to `bits` bits.

  Args:
    x: the rows to quantise.
    bits: 1..16.
    per_checkpoint: one min/max per row x[i]; else one over all of x (the rows in `rows`).
    rows: (n,) bool, the rows that count for a shared min/max (default: all).

  Returns:
    (codes, scale, offset), scale and offset (n,), with x[i] ~= codes[i] * scale[i] +
    offset[i].

  >>> codes, scale, offset = quantize(jnp.array([[0.0, 1.0, 3.0]]), bits=2)
  >>> codes.tolist(), float(scale[0]), float(offset[0])
  ([[0, 1, 3]], 1.0, 0.0)
  >>> codes, scale, offset = quantize(jnp.array([[0.0, 1.0], [3.0, 2.0]]), 2, False)
  >>> codes.tolist(), scale.tolist(), offset.tolist()
  ([[0, 1], [3, 2]], [1.0, 1.0], [0.0, 0.0])
  """
  if not 1 <= bits <= 16:
    raise ValueError(f'bits must be in 1..16, got {bits}')
  shape = (-1,) + (1,) * (x.ndim - 1)
  if per_checkpoint:
    axes = tuple(range(1, x.ndim))
    lo, hi = jnp.min(x, axis=axes), jnp.max(x, axis=axes)
  else:
    counted = jnp.ones(x.shape[0], bool) if rows is None else rows
    counted = counted.reshape(shape)
    lo = jnp.full(x.shape[0], jnp.min(jnp.where(counted, x, jnp.inf)))
    hi = jnp.full(x.shape[0], jnp.max(jnp.where(counted, x, -jnp.inf)))
    lo, hi = jnp.where(jnp.isfinite(lo), lo, 0.0), jnp.where(jnp.isfinite(hi), hi, 0.0)
  levels = 2 ** bits - 1
  scale = jnp.where(hi > lo, (hi - lo) / levels, 1.0)
  codes = jnp.clip(jnp.round((x - lo.reshape(shape)) / scale.reshape(shape)), 0, levels)
  return codes.astype(jnp.uint8 if bits <= 8 else jnp.uint16), scale, lo


def dequantize(codes: jax.Array, scale: jax.Array, offset: jax.Array) -> jax.Array:
  shape = (-1,) + (1,) * (codes.ndim - 1)
  return codes.astype(jnp.float32) * scale.reshape(shape) + offset.reshape(shape)


def _combine(weights: jax.Array, stacked: jax.Array, center=None) -> jax.Array:
  """sum_i weights[i] * (stacked[i] - center), unrolled over the (static, small) checkpoint
  axis: one elementwise fusion. A dot makes XLA transpose the whole stack to put the
  checkpoint axis minor, and a reduction over the leading axis compiles to slow loops inside
  a branch."""
  term = (lambda i: stacked[i]) if center is None else (lambda i: stacked[i] - center)
  out = weights[0] * term(0)
  for i in range(1, stacked.shape[0]):
    out = out + weights[i] * term(i)
  return out


def reconstruct(coeffs, mean, basis) -> optax.Params:
  """w = mean + sum_i X_i P_i, leaf by leaf (float32)."""
  return jax.tree.map(lambda x, m, b: m + _combine(x, b), coeffs, mean, basis)


def twa_coefficient_schedule(peak: float, total_steps: int,
                             warmup_fraction: float = 0.2) -> optax.Schedule:
  """The coefficients' rate in the journal code (`cosine_lr` with warm-up `int(steps * 0.2)`):
  peak * (k + 1) / W for the phase-2 update k < W (counted from 0), then
  peak * (1 + cos(pi (k - W) / (T - W))) / 2.

  >>> s = twa_coefficient_schedule(1.0, total_steps=10)
  >>> [round(float(s(k)), 3) for k in (0, 1, 2, 6, 10)]
  [0.5, 1.0, 1.0, 0.5, 0.0]
  """
  warmup = int(total_steps * warmup_fraction)

  def schedule(k):
    k = jnp.asarray(k, jnp.float32)
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * (k - warmup) / max(total_steps - warmup, 1)))
    if warmup <= 0:
      return peak * cosine
    return jnp.where(k < warmup, peak * (k + 1.0) / warmup, peak * cosine)

  return schedule


def _basis_sharding(n: int):
  devices = jax.devices()
  if len(devices) == 1:
    return None
  if n % len(devices):
    raise ValueError(f'shard_basis: {n} checkpoints do not split across {len(devices)} devices')
  mesh = jax.sharding.Mesh(np.array(devices), ('checkpoints',))
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('checkpoints'))


def trainable_weight_averaging(
    inner: optax.GradientTransformation, num_checkpoints: int, every: int, switch: int,
    start: int = 0, learning_rate: optax.ScalarOrSchedule = 0.01, weight_decay: float = 0.0,
    bits: int | None = None, shard_basis: bool = False, phase: int | None = None,
    quantization: str = 'per_checkpoint') -> AveragedTransformation:
  """`inner` until update `switch`, then TWA (journal form): AdamW on layer-wise
  coefficients X of the normalised deviations of the checkpoints stored along the way.

  Args:
    inner: the phase-1 optimizer.
    num_checkpoints: n, the checkpoints kept (the last n stored before `switch`).
    every: store a checkpoint every this many updates ...
    switch: ... up to this update, at which the basis is built and the params become the mean.
    start: the first update (counted from 1) that may be stored.
    learning_rate: AdamW's learning rate for X (a float or a schedule of phase-2 steps,
      e.g. `twa_coefficient_schedule`, the reference's).
    weight_decay: AdamW's decoupled weight decay on X (pulls w towards the mean).
    bits: quantise the normalised rows to this many bits (None: float32).
    shard_basis: split the checkpoint axis across devices.
    phase: None: one program that picks the phase from the step count (pure optax). 1 or 2:
      the program of that phase alone (phase 1 includes the switch), for a caller that
      knows the step and compiles one step per phase: on XLA's CPU backend a phase-2 branch
      present in the program costs phase-1 steps ~40% (the coefficients' gradient inside a
      conditional), and in phase 2 the inner optimizer then does not run. The states of
      all three are the same.
    quantization: 'per_checkpoint' (one min/max per checkpoint per leaf) or 'per_block'
      (one per leaf over all checkpoints).

  Returns:
    A transformation whose state is a `TwaState`; an eval sees the params themselves (in
    phase 2 they are the trained average w(X)).

  >>> tx = trainable_weight_averaging(optax.sgd(1.0), num_checkpoints=2, every=1, switch=2)
  >>> params = {'w': jnp.zeros(2)}
  >>> state = tx.init(params)
  >>> for g in ([-1.0, 0.0], [0.0, -1.0]):  # checkpoints [1, 0] and [1, 1]
  ...   updates, state = tx.update({'w': jnp.array(g)}, state, params)
  ...   params = optax.apply_updates(params, updates)
  >>> params['w'].tolist()  # the mean
  [1.0, 0.5]
  """
  if quantization not in QUANTIZATIONS:
    raise ValueError(f'unknown quantization {quantization!r}; use one of {QUANTIZATIONS}')
  twa = _Twa(optax.with_extra_args_support(inner), num_checkpoints, every, switch, start,
             optax.adamw(learning_rate, weight_decay=weight_decay), bits, quantization,
             _basis_sharding(num_checkpoints) if shard_basis else None, phase)
  return AveragedTransformation(twa.init, twa.update)


class _Twa(NamedTuple):
  """The settings of one TWA transformation; its methods are the transformation's parts."""

  inner: optax.GradientTransformationExtraArgs
  n: int
  every: int
  switch: int
  start: int
  coeff_tx: optax.GradientTransformation
  bits: int | None
  quantization: str
  sharding: jax.sharding.Sharding | None
  phase: int | None

  def place(self, tree):
    if self.sharding is None:
      return tree
    return jax.tree.map(lambda b: jax.lax.with_sharding_constraint(b, self.sharding), tree)

  def init(self, params) -> TwaState:
    n = self.n
    f32 = lambda p, shape: jnp.zeros_like(p, dtype=jnp.float32, shape=shape)
    basis = jax.tree.map(lambda p: f32(p, (n, *p.shape)), params)
    if self.sharding is not None:
      basis = jax.device_put(basis, self.sharding)
    mean = jax.tree.map(lambda p: f32(p, p.shape), params)
    norms = jax.tree.map(lambda p: jnp.ones((n,), jnp.float32), params)
    codes = scale = offset = None
    if self.bits is not None:
      dtype = jnp.uint8 if self.bits <= 8 else jnp.uint16
      codes = jax.tree.map(lambda b: jnp.zeros_like(b, dtype=dtype), basis)
      scale = jax.tree.map(lambda p: jnp.ones((n,), jnp.float32), params)
      offset = jax.tree.map(lambda p: jnp.zeros((n,), jnp.float32), params)
    coeffs = jax.tree.map(lambda p: jnp.zeros((n,), jnp.float32), params)
    return TwaState(self.inner.init(params), basis, mean, norms, codes, scale, offset, coeffs,
                    self.coeff_tx.init(coeffs), jnp.zeros([], jnp.int32),
                    jnp.zeros([], jnp.int32))

  def store(self, params, basis, snapshots):
    """Phase 1: the checkpoint written into its ring-buffer slot (in place: write only)."""
    slot = jnp.mod(snapshots, self.n)
    basis = jax.tree.map(
        lambda b, p: jax.lax.dynamic_update_index_in_dim(b, p.astype(jnp.float32), slot, 0),
        basis, params)
    return self.place(basis), snapshots + 1

  def filled(self, snapshots):
    return (jnp.arange(self.n) < snapshots).astype(jnp.float32)

  def build(self, basis, snapshots):
    """At the switch: the mean, each deviation's norm per leaf and, with quantisation, the
    codes of the normalised rows. The checkpoints stay as they are; without quantisation the
    rows are formed on the fly (rewriting the buffer in a branch would cost a copy of it at
    every step)."""
    mask = self.filled(snapshots)
    mean = jax.tree.map(lambda b: _combine(mask / jnp.maximum(mask.sum(), 1.0), b), basis)

    def norms_of(b, m):
      squares = jnp.stack([jnp.sum(jnp.square(b[i] - m)) for i in range(self.n)])
      return jnp.where((mask > 0) & (squares > 0), jnp.sqrt(squares), 1.0)

    norms = jax.tree.map(norms_of, basis, mean)
    if self.bits is None:
      return mean, norms, None, None, None
    rows = lambda m, r: (mask / r).reshape((-1,) + (1,) * m.ndim)
    quantized = jax.tree.map(
        lambda b, m, r: quantize((b - m) * rows(m, r), self.bits,
                                 self.quantization == 'per_checkpoint', rows=mask > 0),
        basis, mean, norms)
    is_triple = lambda x: isinstance(x, tuple) and len(x) == 3
    pick = lambda i: jax.tree.map(lambda t: t[i], quantized, is_leaf=is_triple)
    return mean, norms, self.place(pick(0)), pick(1), pick(2)

  def reconstruction(self, state):
    """x -> w(x) = mean + sum_i x_i P_i for this state's basis (unfilled slots masked)."""
    mask = self.filled(state.snapshots)
    if self.bits is None:
      return lambda x: jax.tree.map(
          lambda xi, m, b, r: m + _combine(xi * mask / r, b, center=m),
          x, state.mean, state.basis, state.norms)
    rows = jax.tree.map(dequantize, state.codes, state.scale, state.offset)
    return lambda x: reconstruct(jax.tree.map(lambda xi: xi * mask, x), state.mean, rows)

  def phase2(self, grads, state, params):
    """AdamW on X, the gradient pulled back through the reconstruction; returns the update
    that moves the params to w(X')."""
    recon = self.reconstruction(state)
    _, pullback = jax.vjp(recon, state.coeffs)
    (coeff_grads,) = pullback(jax.tree.map(lambda g: g.astype(jnp.float32), grads))
    coeff_updates, coeff_state = self.coeff_tx.update(coeff_grads, state.coeff_state,
                                                      state.coeffs)
    coeffs = optax.apply_updates(state.coeffs, coeff_updates)
    target = cast_like(recon(coeffs), params)
    return jax.tree.map(lambda w, p: w - p, target, params), coeffs, coeff_state

  def update(self, grads, state, params=None, **extra_args):
    if params is None:
      raise ValueError('TWA needs the params: call update(grads, state, params)')
    count = optax.safe_increment(state.count)
    if self.phase == 2:
      updates, coeffs, coeff_state = self.phase2(grads, state, params)
      return updates, state._replace(coeffs=coeffs, coeff_state=coeff_state, count=count)

    # The inner optimizer runs throughout (in phase 2 its updates are discarded), and each
    # `lax.cond` below either writes a buffer in place or reads the large ones without
    # returning them: XLA copies no large buffer at any step.
    updates, inner_state = self.inner.update(grads, state.inner, params, **extra_args)
    new_params = optax.apply_updates(params, updates)
    basis, snapshots = jax.lax.cond(
        (count <= self.switch) & gate(count, self.start, self.every),
        lambda a: self.store(new_params, *a), lambda a: a, (state.basis, state.snapshots))
    state = state._replace(inner=inner_state, basis=basis, snapshots=snapshots, count=count)

    names = ('mean', 'norms', 'codes', 'scale', 'offset')
    built = tuple(getattr(state, k) for k in names)
    built = jax.lax.cond(count == self.switch, lambda _: self.build(basis, snapshots),
                         lambda b: b, built)
    state = state._replace(**dict(zip(names, built)))

    def at_switch(operand):
      coeffs = jax.tree.map(jnp.zeros_like, operand[1])
      jump = jax.tree.map(lambda m, p: m.astype(p.dtype) - p, state.mean, params)
      return jump, coeffs, self.coeff_tx.init(coeffs)

    operand = (updates, state.coeffs, state.coeff_state)
    if self.phase == 1:
      updates, coeffs, coeff_state = jax.lax.cond(count == self.switch, at_switch,
                                                  lambda o: o, operand)
    else:
      branch = jnp.where(count < self.switch, 0, jnp.where(count == self.switch, 1, 2))
      updates, coeffs, coeff_state = jax.lax.switch(
          branch, (lambda o: o, at_switch, lambda o: self.phase2(grads, state, params)),
          operand)
    return updates, state._replace(coeffs=coeffs, coeff_state=coeff_state)
