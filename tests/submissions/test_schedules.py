"""Every schedule's values at its break points, against closed forms written out by hand."""

import math

import jax
import numpy as np
import pytest

from submissions import averagers, schedules


def values(schedule, steps):
  return [float(schedule(t)) for t in steps]


def test_constant_and_linear_break_points():
  assert values(schedules.constant(0.3), [0, 7, 10**6]) == pytest.approx([0.3] * 3)
  assert values(schedules.constant(0.3, warmup_steps=4), [0, 1, 4, 9]) == pytest.approx(
      [0.0, 0.075, 0.3, 0.3])
  s = schedules.linear(2.0, total_steps=110, warmup_steps=10, end_value=0.5)
  assert values(s, [0, 5, 10, 35, 60, 110, 999]) == pytest.approx(
      [0.0, 1.0, 2.0, 2.0 - 1.5 / 4, 1.25, 0.5, 0.5])


def test_cosine_and_warmup_cosine_break_points():
  s = schedules.cosine(2.0, total_steps=110, warmup_steps=10, end_value=0.2)
  expected = [0.0, 2.0] + [0.2 + 0.9 * (1 + math.cos(math.pi * k / 100)) for k in (25, 50, 100)]
  assert values(s, [0, 10, 35, 60, 110]) == pytest.approx(expected, rel=1e-5)
  w = schedules.warmup_cosine(1.0, 20, 220)
  assert values(w, [0, 10, 20, 120, 220, 300]) == pytest.approx(
      [0.0, 0.5, 1.0, 0.5, 0.0, 0.0], abs=1e-6)


@pytest.mark.parametrize('shape,mid', [('linear', 0.5), ('1-sqrt', 1 - math.sqrt(0.5)),
                                       ('cosine', 0.5)])
def test_wsd_break_points(shape, mid):
  # 1000 steps, warmup 100, cooldown over the last 20% (steps 800..1000).
  s = schedules.wsd(1.0, total_steps=1000, cooldown_fraction=0.2, warmup_steps=100,
                    shape=shape, end_value=0.0)
  got = values(s, [0, 50, 100, 500, 800, 900, 1000, 1500])
  assert got == pytest.approx([0.0, 0.5, 1.0, 1.0, 1.0, mid, 0.0, 0.0], abs=1e-6)
  quarter = {'linear': 0.75, '1-sqrt': 0.5, 'cosine': (1 + math.cos(math.pi / 4)) / 2}[shape]
  assert float(s(850)) == pytest.approx(quarter, abs=1e-6)
  # Monotone non-increasing after the warmup.
  tail = np.array(values(s, range(100, 1001, 7)))
  assert (np.diff(tail) <= 1e-7).all()


def test_wsd_rejects_unknown_shape():
  with pytest.raises(ValueError, match='cooldown shape'):
    schedules.wsd(1.0, 100, shape='exp')


def test_wsd_end_value_and_jit():
  s = schedules.wsd(2.0, total_steps=100, cooldown_fraction=0.5, shape='linear', end_value=1.0)
  jitted = jax.jit(s)
  assert [float(jitted(t)) for t in (0, 50, 75, 100)] == pytest.approx([2.0, 2.0, 1.5, 1.0])


def test_swa_anneal_break_points():
  # Izmailov et al.'s code: factor 1 until t = 0.5, linear to swa_lr/lr at t = 0.9, then flat,
  # with t = step / swa_start.
  s = schedules.swa_anneal(0.1, 0.02, swa_start=200, warmup_steps=10)
  assert values(s, [0, 5, 10, 100, 140, 180, 200, 10**5]) == pytest.approx(
      [0.0, 0.05, 0.1, 0.1, 0.06, 0.02, 0.02, 0.02], rel=1e-5)


def test_cyclic_matches_the_papers_formula():
  a1, a2, c, start = 0.05, 0.001, 5, 3
  s = schedules.cyclic(a1, a2, cycle_steps=c, start=start)
  for step in range(0, 30):
    if step < start:
      expected = a1
    else:
      i = step - start + 1  # the paper counts iterations from 1
      t = ((i - 1) % c + 1) / c
      expected = (1 - t) * a1 + t * a2
    assert float(s(step)) == pytest.approx(expected, rel=1e-6), step
  # The last update of every cycle uses min_lr: the points SWA averages.
  assert [float(s(start + k * c - 1)) for k in (1, 2, 3)] == pytest.approx([a2] * 3)


def test_two_regime_switches_lr_and_momentum():
  lr = schedules.two_regime(0.4, 0.04, switch_step=300, warmup_steps=20)
  mom = schedules.two_regime(0.0, 0.9, switch_step=300)
  assert values(lr, [0, 10, 20, 299, 300, 900]) == pytest.approx(
      [0.0, 0.2, 0.4, 0.4, 0.04, 0.04])
  assert values(mom, [0, 299, 300]) == pytest.approx([0.0, 0.0, 0.9])


@pytest.mark.parametrize('start', [0, 3])
def test_cyclic_and_swa_pairing_takes_the_low_points(start):
  """swa(start=s + c, every=c) snapshots exactly the weights after the updates that used
  min_lr (update t uses the schedule at optax step t - 1)."""
  c, low = 5, 0.001
  s = schedules.cyclic(0.05, low, cycle_steps=c, start=start)
  taken = [t for t in range(1, 60) if bool(averagers.gate(t, start + c, c))]
  used_low = [t for t in range(1, 60) if float(s(t - 1)) == pytest.approx(low)]
  assert taken == used_low and len(taken) >= 10
  if start:  # the naive pairing also takes update `start`, made at max_lr before any cycle
    assert bool(averagers.gate(start, start, c)) and float(s(start - 1)) == pytest.approx(0.05)
