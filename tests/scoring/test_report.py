"""End to end on hand-made logs: each rule, the outputs, and what bad input does."""

import math

import numpy as np
import pandas as pd
import pytest

from configs import workloads as workload_configs
from scoring import ScoringError, score_logs, write_outputs
from tests.scoring import helpers
from tests.scoring.test_profiles import _score_by_hand

INF = math.inf


def _studies(root, submission, workload, times_per_study, rules='v0.6', trial=1):
  for study, t in enumerate(times_per_study):
    helpers.write_reaching(root, submission, workload, t, study=study, trial=trial, rules=rules)


def test_scores_of_two_submissions_on_one_workload(tmp_path):
  _studies(tmp_path, 'fast', 'ogbg', [30, 30, 30])
  _studies(tmp_path, 'slow', 'ogbg', [60, 60, 60])
  board = score_logs(tmp_path, rules='v0.6')
  assert list(board.scores.index) == ['fast', 'slow']
  assert board.scores.loc['fast', 'score'] == pytest.approx(1 / 8, abs=1e-12)
  assert board.scores.loc['slow', 'score'] == pytest.approx(
      _score_by_hand([2.0] + [INF] * 7, 8), abs=1e-12)
  assert board.time_to_target.loc['slow', 'ogbg'] == 60.0
  assert board.steps_to_target.loc['slow', 'ogbg'] == 600.0
  assert np.isnan(board.time_to_target.loc['slow', 'wmt'])  # no logs
  assert board.ratios.loc['slow', 'ogbg'] == 2.0
  assert any('fast: no logs of criteo1tb' in w for w in board.warnings)


def test_best_trial_of_a_study_is_the_one_with_fewest_evals(tmp_path):
  for study in range(3):
    helpers.write_trial(tmp_path, 's', 'ogbg', [10, 20, 300],
                        helpers.values_reaching('ogbg', 2, 3, 'v0.6'), study=study, trial=1,
                        steps=[5, 6, 7])
    helpers.write_trial(tmp_path, 's', 'ogbg', [1, 2, 3, 4],
                        helpers.values_reaching('ogbg', 3, 4, 'v0.6'), study=study, trial=2)
  board = score_logs(tmp_path, rules='v0.6')
  # 3 evals (at 300 s) beat 4 evals (at 4 s): AlgoPerf's rule.
  assert board.time_to_target.loc['s', 'ogbg'] == 300.0
  assert board.steps_to_target.loc['s', 'ogbg'] == 7.0


def test_median_over_studies_with_a_missed_and_a_missing_study(tmp_path):
  _studies(tmp_path, 'a', 'ogbg', [30, 50, None])  # third study never reaches the target
  _studies(tmp_path, 'b', 'ogbg', [20, 40])  # third study absent: a miss as well
  _studies(tmp_path, 'c', 'ogbg', [10])  # two studies absent
  board = score_logs(tmp_path, rules='v0.6')
  assert board.time_to_target.loc['a', 'ogbg'] == 50.0
  assert board.time_to_target.loc['b', 'ogbg'] == 40.0
  assert board.time_to_target.loc['c', 'ogbg'] == INF
  assert any(w.startswith('c/ogbg: 1 of 3 studies') for w in board.warnings)


def test_extra_studies_beyond_the_rules_are_not_scored(tmp_path):
  _studies(tmp_path, 'a', 'ogbg', [10, 20, 30, None, None])
  board = score_logs(tmp_path, rules='v0.6')  # 3 studies: 10, 20, 30
  assert board.time_to_target.loc['a', 'ogbg'] == 20.0
  assert 'a: more than 3 studies on 1 workloads; scoring the first 3 (v0.6)' in board.warnings


def test_budget_external_and_self_tuning_multipliers(tmp_path):
  budget = 12_011  # ogbg, v0.6
  for name, t in [('at_budget', budget), ('over', budget + 1), ('self_ok', 1.5 * budget)]:
    for study in range(3):
      helpers.write_trial(tmp_path, name, 'ogbg', [1.0, t],
                          helpers.values_reaching('ogbg', 1, 2, 'v0.6'), study=study)
  external = score_logs(tmp_path, rules='v0.6', ruleset='external').time_to_target['ogbg']
  assert external.to_dict() == {'at_budget': budget, 'over': INF, 'self_ok': INF}
  self_tuning = score_logs(tmp_path, rules='v0.6', ruleset='self').time_to_target['ogbg']
  assert self_tuning.to_dict() == {'at_budget': budget, 'over': budget + 1,
                                   'self_ok': 1.5 * budget}


def test_budget_factor_scales_time_budgets_not_step_budgets(tmp_path):
  facts = workload_configs.facts('ogbg', 'v0.6')
  budget, step_hint = facts.max_runtime_sec, facts.step_hint
  helpers.write_trial(tmp_path, 's', 'ogbg', [1.0, 1.5 * budget],
                      helpers.values_reaching('ogbg', 1, 2, 'v0.6'), study=0,
                      steps=[100, step_hint + 1])
  def scored(factor):
    return score_logs(tmp_path, rules='v0.6', num_studies=1, budget_factor=factor)
  assert scored(1.0).time_to_target.loc['s', 'ogbg'] == INF
  board = scored(2.0)
  assert board.time_to_target.loc['s', 'ogbg'] == 1.5 * budget
  assert board.budget_factor == 2.0
  # Steps are read as they are: the factor is about seconds.
  assert board.steps_to_target.loc['s', 'ogbg'] == step_hint + 1
  with pytest.raises(ScoringError, match='budget_factor'):
    scored(0.0)


def test_v05_self_tuning_budget_is_three_times(tmp_path):
  for study in range(5):
    helpers.write_trial(tmp_path, 's', 'ogbg', [1.0, 50_000.0],
                        helpers.values_reaching('ogbg', 1, 2), study=study)
  assert score_logs(tmp_path, rules='v0.5', ruleset='self').time_to_target.loc[
      's', 'ogbg'] == 50_000.0  # 3 x 18_477 = 55_431
  assert score_logs(tmp_path, rules='v0.5', ruleset='external').time_to_target.loc[
      's', 'ogbg'] == INF


def test_self_tuning_takes_the_one_trial_not_the_best(tmp_path):
  for study in range(3):
    helpers.write_reaching(tmp_path, 's', 'ogbg', 80, study=study, trial=1, rules='v0.6')
    helpers.write_reaching(tmp_path, 's', 'ogbg', 20, study=study, trial=2, rules='v0.6')
  self_board = score_logs(tmp_path, rules='v0.6', ruleset='self')
  assert self_board.time_to_target.loc['s', 'ogbg'] == 80.0
  assert any('self-tuning has one trial per study' in w for w in self_board.warnings)
  assert score_logs(tmp_path, rules='v0.6').time_to_target.loc['s', 'ogbg'] == 20.0


def _v05(root, submission, base_times, variant_times):
  for study in range(5):
    helpers.write_reaching(root, submission, 'ogbg', base_times, study=study)
    helpers.write_reaching(root, submission, 'ogbg_model_size', variant_times, study=study)


def test_held_out_variant_over_4x_removes_the_base(tmp_path):
  _v05(tmp_path, 'a', 10, 10)
  _v05(tmp_path, 'b', 20, 50)  # variant 5x the best: a miss, so the base is one too
  board = score_logs(tmp_path, rules='v0.5')
  assert board.time_to_target.loc['b', 'ogbg'] == 20.0  # before the gates
  assert board.ratios.loc['b', 'ogbg'] == INF
  assert board.scores.loc['b', 'score'] == 0.0
  # Under v0.6 held-out workloads do not count: b's ogbg ratio is 2.
  v06 = score_logs(tmp_path, rules='v0.6')
  assert v06.ratios.loc['b', 'ogbg'] == 2.0
  assert ("'ogbg_model_size' is not scored under v0.6; skipped 10 trials of a, b"
          in v06.warnings)


def test_variant_of_a_missed_base_does_not_set_the_4x_bar(tmp_path):
  _v05(tmp_path, 'a', None, 10)  # base missed: its variant is removed first
  _v05(tmp_path, 'b', 20, 50)
  board = score_logs(tmp_path, rules='v0.5')
  assert board.ratios.loc['b', 'ogbg'] == 1.0
  assert board.scores.loc['b', 'score'] == pytest.approx(1 / 8, abs=1e-12)


def test_held_out_variant_with_no_logs_at_all_does_not_gate(tmp_path):
  for study in range(5):
    helpers.write_reaching(tmp_path, 'a', 'ogbg', 10, study=study)
  board = score_logs(tmp_path, rules='v0.5')
  assert board.ratios.loc['a', 'ogbg'] == 1.0
  assert any("'ogbg_model_size' has no logs" in w for w in board.warnings)


def test_reference_submission_and_speedup(tmp_path):
  _studies(tmp_path, 'base', 'ogbg', [40, 40, 40])
  _studies(tmp_path, 'base', 'wmt', [40, 40, 40])
  _studies(tmp_path, 'new', 'ogbg', [20, 20, 20])
  _studies(tmp_path, 'new', 'wmt', [80, 80, 80])
  board = score_logs(tmp_path, rules='v0.6', reference='base')
  assert board.ratios.loc['new'].dropna().to_dict()['ogbg'] == 0.5
  assert board.ratios.loc['new', 'wmt'] == 2.0
  assert board.scores.loc['base', 'score'] == pytest.approx(2 / 8, abs=1e-12)
  # Speedup over the 8 workloads, misses at budget + 1 s: 2x on ogbg, 0.5x on wmt, 1x else.
  assert board.scores.loc['new', 'speedup'] == pytest.approx(1.0, abs=1e-12)
  assert board.scores.loc['base', 'speedup'] == 1.0
  with pytest.raises(ScoringError, match="reference 'nope'"):
    score_logs(tmp_path, rules='v0.6', reference='nope')


def test_steps_to_target_can_rank_differently_from_time(tmp_path):
  for study in range(3):
    values = helpers.values_reaching('ogbg', 1, 2, 'v0.6')
    helpers.write_trial(tmp_path, 'quick_steps', 'ogbg', [10, 100], values, study=study,
                        steps=[1, 50])
    helpers.write_trial(tmp_path, 'quick_clock', 'ogbg', [10, 50], values, study=study,
                        steps=[1, 200])
  by_time = score_logs(tmp_path, rules='v0.6', time_col='score')
  by_steps = score_logs(tmp_path, rules='v0.6', time_col='global_step')
  assert by_time.scores.index[0] == 'quick_clock'
  assert by_steps.scores.index[0] == 'quick_steps'
  assert by_steps.ratios.loc['quick_clock', 'ogbg'] == 4.0


def test_averages_compete_as_virtual_submissions(tmp_path):
  for study in range(3):
    raw = helpers.values_reaching('ogbg', 5, 8, 'v0.6')
    ema = helpers.values_reaching('ogbg', 2, 8, 'v0.6')
    never = helpers.values_reaching('ogbg', None, 8, 'v0.6')
    helpers.write_trial(tmp_path, 'run', 'ogbg', [10.0 * (i + 1) for i in range(8)], raw,
                        study=study, averages={'ema_0.99': ema, 'swa': never}, rules='v0.6')
  plain = score_logs(tmp_path, rules='v0.6')
  assert list(plain.scores.index) == ['run']
  board = score_logs(tmp_path, rules='v0.6', averages=True)
  assert set(board.scores.index) == {'run', 'run[ema_0.99]', 'run[swa]'}
  assert board.time_to_target['ogbg'].to_dict() == {'run[ema_0.99]': 30.0, 'run': 60.0,
                                                    'run[swa]': INF}
  assert board.scores.index[0] == 'run[ema_0.99]'


def test_corrupt_file_is_one_warning_and_the_rest_is_scored(tmp_path):
  _studies(tmp_path, 'a', 'ogbg', [30, 30, 30])
  bad = helpers.write_reaching(tmp_path, 'a', 'ogbg', 30, study=0, trial=2)
  (bad / 'eval_measurements.csv').write_bytes(b'\x00\xff garbage')
  board = score_logs(tmp_path, rules='v0.6')
  assert board.time_to_target.loc['a', 'ogbg'] == 30.0
  [line] = [w for w in board.warnings if 'trial_2' in w]
  assert str(bad / 'eval_measurements.csv') in line


def test_unknown_workload_is_skipped_with_one_line(tmp_path):
  _studies(tmp_path, 'a', 'ogbg', [30, 30, 30])
  helpers.write_trial(tmp_path, 'a', 'ogbg', [1.0], [0.5]).rename(tmp_path / 'tmp')
  (tmp_path / 'a' / 'study_0' / 'mystery_jax').mkdir()
  (tmp_path / 'tmp').rename(tmp_path / 'a' / 'study_0' / 'mystery_jax' / 'trial_1')
  board = score_logs(tmp_path, rules='v0.6')
  assert "'mystery' is an unknown workload under v0.6; skipped 1 trials of a" in board.warnings


def test_nothing_to_score_raises_scoring_error(tmp_path):
  with pytest.raises(ScoringError, match='no such folder'):
    score_logs(tmp_path / 'absent')
  with pytest.raises(ScoringError, match='no <submission>'):
    score_logs(tmp_path)
  folder = helpers.write_reaching(tmp_path, 'a', 'ogbg', 30)
  (folder / 'eval_measurements.csv').write_text('')
  with pytest.raises(ScoringError, match='empty file'):
    score_logs(tmp_path, rules='v0.6')
  with pytest.raises(ScoringError, match='unknown rules'):
    score_logs(tmp_path, rules='v9')
  with pytest.raises(ScoringError, match='unknown ruleset'):
    score_logs(tmp_path, ruleset='both')
  with pytest.raises(ScoringError, match='unknown time column'):
    score_logs(tmp_path, time_col='wall')


def test_our_runner_layout_and_small_workloads(tmp_path):
  # `avgperf run` without --study writes <dir>/<workload>_jax/trial_<k>; digits is ours.
  for trial, t in [(1, 30), (2, 20)]:
    helpers.write_reaching(tmp_path, 'baseline', 'digits', t, study=None, trial=trial,
                           rules='v0.6')
  board = score_logs(tmp_path / 'baseline', rules='v0.6')  # one submission's folder
  assert list(board.scores.index) == ['baseline']
  assert board.time_to_target.loc['baseline', 'digits'] == INF  # 1 of 3 studies
  assert any('scoring the base workloads found: digits' in w for w in board.warnings)
  board = score_logs(tmp_path, rules='v0.5', workloads=('digits',))
  assert list(board.ratios.columns) == ['digits']


def test_write_outputs(tmp_path):
  _studies(tmp_path / 'logs', 'fast', 'ogbg', [30, 30, 30])
  _studies(tmp_path / 'logs', 'slow', 'ogbg', [70, 70, 70])
  board = score_logs(tmp_path / 'logs', rules='v0.6', bootstrap=20)
  written = write_outputs(board, tmp_path / 'out')
  assert sorted(p.name for p in written) == sorted([
      'scores.csv', 'time_to_target.csv', 'steps_to_target.csv', 'ratios.csv',
      'performance_profiles.csv', 'performance_profiles.png'])
  scores = pd.read_csv(tmp_path / 'out' / 'scores.csv')
  assert list(scores.columns[:2]) == ['submission', 'score']
  assert scores.set_index('submission')['score'].to_dict() == board.scores['score'].to_dict()
  ttt = pd.read_csv(tmp_path / 'out' / 'time_to_target.csv', index_col=0)
  assert ttt.loc['slow', 'ogbg'] == 70.0 and np.isnan(ttt.loc['slow', 'wmt'])
  assert (tmp_path / 'out' / 'performance_profiles.png').read_bytes()[:4] == b'\x89PNG'
  text = board.format()
  assert 'fast' in text and f'{board.scores.loc["slow", "score"]:.4f}' in text
  assert '95% CI' in text
