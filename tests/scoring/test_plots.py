"""Figures: labelled axes, a legend, the target drawn, raw and averaged side by side."""

import numpy as np

from scoring import plots
from scoring import score_logs
from tests.scoring import helpers


def test_profiles_figure(tmp_path):
  for study in range(3):
    helpers.write_reaching(tmp_path, 'fast', 'ogbg', 30, study=study, rules='v0.6')
    helpers.write_reaching(tmp_path, 'slow', 'ogbg', 60, study=study, rules='v0.6')
  board = score_logs(tmp_path, rules='v0.6')
  fig = plots.profiles_figure(board)
  [ax] = fig.axes
  assert ax.get_xscale() == 'log' and ax.get_xlim() == (1.0, 4.0)
  assert 'τ' in ax.get_xlabel() and 'ρ(τ)' in ax.get_ylabel()
  labels = [t.get_text() for t in ax.get_legend().get_texts()]
  assert labels == ['fast (0.1250)', f'slow ({board.scores.loc["slow", "score"]:.4f})']
  slow = ax.get_lines()[1]
  tau, rho = slow.get_data()
  assert np.all(rho[tau < 1.99] == 0) and np.all(rho[tau > 2.01] == 1 / 8)


def test_curves_figure_raw_and_averaged_side_by_side_with_the_target(tmp_path):
  raw = helpers.values_reaching('wmt', 4, 6, 'v0.6')
  ema = helpers.values_reaching('wmt', 2, 6, 'v0.6')
  one = helpers.write_trial(tmp_path, 's', 'wmt', [1, 2, 3, 4, 5, 6], raw,
                            averages={'ema_0.99': ema}, rules='v0.6')
  two = helpers.write_trial(tmp_path, 's', 'wmt', [1, 2, 3, 4, 5, 6], raw, trial=2,
                            rules='v0.6')
  fig, warnings = plots.curves_figure([one, two, tmp_path / 'nope_jax' / 'trial_1'],
                                      x='global_step', rules='v0.6')
  assert len(warnings) == 1 and 'nope' in warnings[0]
  left, right = fig.axes
  assert left.get_title() == 'wmt: raw weights' and right.get_title() == 'wmt: averaged weights'
  assert left.get_xlabel() == 'optimizer steps' and left.get_ylabel() == 'validation bleu'
  target = [line for line in right.get_lines() if line.get_label().startswith('target')]
  assert target and target[0].get_ydata()[0] == 30.8491
  # The step budget (wmt's step hint) drawn, the x axis from 0 to past it.
  [budget] = [line for line in left.get_lines() if line.get_label() == '_budget']
  assert budget.get_xdata()[0] == 120_000
  assert left.get_xlim()[0] == 0 and left.get_xlim()[1] > 120_000
  assert left.get_legend().get_title().get_text() == 'wmt'

  def named(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith('_')]

  assert [line.get_label() for line in named(left)] == [
      's · study 0 · trial 1', 's · study 0 · trial 2', 'target 30.8491']
  ema_line = named(right)[0]
  assert ema_line.get_label() == 's[ema_0.99] · study 0 · trial 1'
  np.testing.assert_array_equal(ema_line.get_xdata(), [100, 200, 300, 400, 500, 600])
  # A star marks the first eval at the target: the 3rd for the average, the 5th raw.
  def stars(ax):
    return [(line.get_xdata()[0], line.get_ydata()[0]) for line in ax.get_lines()
            if line.get_marker() == '*']

  assert stars(right) == [(300, ema[2])]
  assert stars(left) == [(500, raw[4]), (500, raw[4])]


def test_plot_curves_writes_a_png_or_nothing(tmp_path):
  trial = helpers.write_reaching(tmp_path, 's', 'ogbg', 30, rules='v0.6')
  path, warnings = plots.plot_curves([trial], tmp_path / 'curves.png')
  assert path.read_bytes()[:4] == b'\x89PNG' and warnings == []
  assert plots.plot_curves([tmp_path / 'x_jax' / 'trial_1'], tmp_path / 'n.png')[0] is None
