"""TWA against the reference code written out in numpy float64: the journal form's phase 2
(nblt/TWA journal/model_soups/train_block_noOrthogonal.py: P = checkpoints - center,
each row normalised per block, X.grad[:, i] = P[:, block] @ grad[block], AdamW with the
cosine-with-warm-up rate, w = center + P^T X), its block-wise quantisation, and the
conference form (train_twa.py: Gram-Schmidt of the checkpoints, SGD on P^T P g)."""

import jax
import numpy as np
import optax
import pytest

from submissions import optimizers
from tests.submissions.test_twa import N, problem, replay

STEPS, LR, WD = 12, 0.05, 0.01


def flat(tree):
  return np.concatenate([np.asarray(x, np.float64).ravel() for x in jax.tree.leaves(tree)])


def train(tx, loss, params, steps):
  step = jax.jit(lambda p, s: tx.update(jax.grad(loss)(p), s, p))
  state, out = tx.init(params), []
  for _ in range(steps):
    updates, state = step(params, state)
    params = optax.apply_updates(params, updates)
    out.append(params)
  return out, state


def journal_reference(checkpoints, loss, schedule, steps):
  """P_Step of the journal code with one block per leaf, AdamW as torch.optim.AdamW."""
  leaves = [np.stack([np.asarray(x, np.float64) for x in xs])
            for xs in zip(*[jax.tree.leaves(c) for c in checkpoints])]
  center = [w.mean(axis=0) for w in leaves]
  rows = [(w - c).reshape(N, -1) for w, c in zip(leaves, center)]
  rows = [r / np.linalg.norm(r, axis=1, keepdims=True) for r in rows]
  treedef = jax.tree.structure(checkpoints[0])
  x = [np.zeros(N) for _ in rows]
  m = [np.zeros(N) for _ in rows]
  v = [np.zeros(N) for _ in rows]
  out = []
  for k in range(steps):
    w = [c + (xi @ r).reshape(c.shape) for c, xi, r in zip(center, x, rows)]
    g = jax.tree.leaves(jax.grad(loss)(jax.tree.unflatten(treedef, [np.float32(a) for a in w])))
    lr = float(schedule(k))
    for i, (r, gi) in enumerate(zip(rows, g)):
      grad = r @ np.asarray(gi, np.float64).ravel()
      x[i] = x[i] * (1 - lr * WD)
      m[i] = 0.9 * m[i] + 0.1 * grad
      v[i] = 0.999 * v[i] + 0.001 * grad ** 2
      mhat, vhat = m[i] / (1 - 0.9 ** (k + 1)), v[i] / (1 - 0.999 ** (k + 1))
      x[i] = x[i] - lr * mhat / (np.sqrt(vhat) + 1e-8)
    out.append(jax.tree.unflatten(
        treedef, [c + (xi @ r).reshape(c.shape) for c, xi, r in zip(center, x, rows)]))
  return out


def test_journal_phase_two_is_the_reference_p_step():
  params, checkpoints, _, loss = problem(seed=3)
  schedule = optimizers.twa_coefficient_schedule(LR, total_steps=STEPS)
  tx = optimizers.trainable_weight_averaging(replay(checkpoints), N, every=1, switch=N,
                                             learning_rate=schedule, weight_decay=WD)
  got, _ = train(tx, loss, params, N + STEPS)
  want = journal_reference(checkpoints, loss, schedule, STEPS)
  for a, b in zip(got[N:], want):
    jax.tree.map(lambda u, w: np.testing.assert_allclose(u, w, rtol=1e-4, atol=1e-5), a, b)


def test_twa_coefficient_schedule_is_the_journal_cosine_lr():
  steps, base = 50, 0.3
  warmup = int(steps * 0.2)
  schedule = optimizers.twa_coefficient_schedule(base, steps)
  for k in range(steps):
    want = (base * (k + 1) / warmup if k < warmup
            else 0.5 * (1 + np.cos(np.pi * (k - warmup) / (steps - warmup))) * base)
    assert float(schedule(k)) == pytest.approx(want, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize('quantization', ['per_checkpoint', 'per_block'])
def test_quantised_rows_are_the_normalised_rows(quantization):
  """The codes hold the normalised rows within half a step, with one scale per checkpoint,
  or one per leaf shared by all checkpoints from its min and max over all of them."""
  params, checkpoints, _, loss = problem(seed=4)
  tx = optimizers.trainable_weight_averaging(replay(checkpoints), N, every=1, switch=N, bits=8,
                                             quantization=quantization)
  _, state = train(tx, loss, params, N)
  for leaf in range(2):
    cs = np.stack([np.asarray(jax.tree.leaves(c)[leaf], np.float64) for c in checkpoints])
    rows = (cs - cs.mean(axis=0)).reshape(N, -1)
    rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    codes = np.asarray(jax.tree.leaves(state.codes)[leaf], np.float64).reshape(N, -1)
    scale = np.asarray(jax.tree.leaves(state.scale)[leaf], np.float64)
    offset = np.asarray(jax.tree.leaves(state.offset)[leaf], np.float64)
    back = codes * scale[:, None] + offset[:, None]
    assert np.all(np.abs(back - rows) <= scale[:, None] / 2 + 1e-6)
    if quantization == 'per_block':
      np.testing.assert_allclose(scale, (rows.max() - rows.min()) / 255, rtol=1e-5)
      np.testing.assert_allclose(offset, rows.min(), rtol=1e-5, atol=1e-7)
    else:
      np.testing.assert_allclose(scale, (rows.max(1) - rows.min(1)) / 255, rtol=1e-5)


def conference_reference(checkpoints, loss, steps, lr, momentum, wd):
  """train_twa.py: P = Gram-Schmidt(W), start at the center, SGD on P^T P g with torch's
  coupled weight decay and momentum."""
  treedef = jax.tree.structure(checkpoints[0])
  shapes = [x.shape for x in jax.tree.leaves(checkpoints[0])]
  unflat = lambda v: jax.tree.unflatten(treedef, [
      np.float32(a.reshape(s)) for a, s in zip(np.split(v, np.cumsum(
          [int(np.prod(s)) for s in shapes])[:-1]), shapes)])
  w_all = np.stack([flat(c) for c in checkpoints])
  p = w_all.copy()
  for i in range(len(p)):
    p[i] -= p[:i].T @ (p[:i] @ p[i])
    p[i] /= np.linalg.norm(p[i])
  w, buf, out = w_all.mean(axis=0), None, []
  for _ in range(steps):
    g = flat(jax.grad(loss)(unflat(w)))
    d = p.T @ (p @ g) + wd * w
    buf = d if buf is None else momentum * buf + d
    w = w - lr * buf
    out.append(w)
  return p, out


def test_conference_form_is_projected_sgd_in_the_gram_schmidt_span():
  params, checkpoints, _, loss = problem(seed=5)
  lr, momentum, wd = 0.05, 0.9, 1e-3
  sgd = optax.chain(optax.add_decayed_weights(wd), optax.sgd(lr, momentum=momentum))
  tx = optimizers.trainable_weight_averaging_conference(replay(checkpoints), N, every=1,
                                                        switch=N, projected_optimizer=sgd)
  got, state = train(tx, loss, params, N + STEPS)
  basis, want = conference_reference(checkpoints, loss, STEPS, lr, momentum, wd)
  ours = np.stack([np.concatenate([np.asarray(b[i], np.float64).ravel()
                                   for b in jax.tree.leaves(state.basis)]) for i in range(N)])
  np.testing.assert_allclose(ours @ ours.T, np.eye(N), atol=1e-5)
  np.testing.assert_allclose(np.abs(ours), np.abs(basis), atol=1e-4)
  np.testing.assert_allclose(flat(got[N - 1]), np.mean([flat(c) for c in checkpoints], axis=0),
                             rtol=1e-6, atol=1e-6)
  for a, b in zip(got[N:], want):
    np.testing.assert_allclose(flat(a), b, rtol=1e-4, atol=1e-5)
  # The weights stay in the checkpoints' span.
  final = flat(got[-1])
  np.testing.assert_allclose(basis.T @ (basis @ final), final, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('bits', [None, 8])
def test_per_phase_programs_match_the_single_program_for_both_forms(bits):
  params, checkpoints, _, loss = problem(seed=6)
  for make in (
      lambda phase: optimizers.trainable_weight_averaging(
          replay(checkpoints), N, 1, N, learning_rate=LR, bits=bits, phase=phase),
      lambda phase: optimizers.trainable_weight_averaging_conference(
          replay(checkpoints), N, 1, N, phase=phase)):
    single, _ = train(make(None), loss, params, N + 5)
    one, two = make(1), make(2)
    steps = {k: jax.jit(lambda p, s, tx=tx: tx.update(jax.grad(loss)(p), s, p))
             for k, tx in ((1, one), (2, two))}
    state, p = one.init(params), params
    for t in range(N + 5):
      updates, state = steps[1 if t < N else 2](p, state)
      p = optax.apply_updates(p, updates)
      jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6),
                   p, single[t])
