"""The runner's clock, stop rules and logs, on the digits workload with a fake clock."""

import csv
import math
import dataclasses
from pathlib import Path

import jax
import numpy as np
import pytest

from avgperf import runner
from avgperf import spec
from avgperf import step_feed
from avgperf import submission_loader
from avgperf import trial_files
from avgperf import tuning
from tests.core import helpers
from workloads.digits.workload import DigitsWorkload


def _rows(trial_dir):
  with open(trial_dir / trial_files.EVAL_MEASUREMENTS, newline='') as f:
    return list(csv.DictReader(f))


def test_slow_eval_is_not_timed_and_slow_update_is(tmp_path):
  clock = helpers.FakeClock()
  workload = helpers.slow_eval_workload(clock, eval_seconds=100.0,
                                        validation_target_value=2.0)
  submission = helpers.slow_submission(clock, step_seconds=1.0)
  record = runner.run_trial(
      workload, submission,
      helpers.trial_config(tmp_path, max_global_steps=12, eval_every_steps=4, clock=clock))
  assert record.status == 'max_steps'
  assert record.accumulated_submission_time == pytest.approx(12.0)
  rows = _rows(tmp_path)
  assert [int(r['global_step']) for r in rows] == [4, 8, 12]
  assert [float(r['score']) for r in rows] == pytest.approx([4.0, 8.0, 12.0])
  assert [float(r['accumulated_eval_time']) for r in rows] == pytest.approx([100, 200, 300])


def test_budget_stops_the_trial_after_the_step_that_spends_it(tmp_path):
  clock = helpers.FakeClock()
  workload = helpers.slow_eval_workload(clock, eval_seconds=0.0, validation_target_value=2.0)
  submission = helpers.slow_submission(clock, step_seconds=1.0)
  record = runner.run_trial(
      workload, submission,
      helpers.trial_config(tmp_path, budget_sec=5.5, eval_every_steps=100, clock=clock))
  assert record.status == 'budget_exhausted'
  assert record.global_step == 6  # the budget is checked after every step, not at evals
  assert int(_rows(tmp_path)[-1]['global_step']) == 6  # a final eval is logged
  assert trial_files.read_status(tmp_path) == 'budget_exhausted'


def test_target_stops_the_trial_at_the_first_eval_that_reaches_it(tmp_path):
  workload = DigitsWorkload()
  record = runner.run_trial(
      workload, submission_loader.load('baseline'),
      helpers.trial_config(tmp_path, max_global_steps=2000, eval_every_steps=25))
  assert record.status == 'reached_target'
  rows = _rows(tmp_path)
  reached = [float(r['validation/accuracy']) >= workload.validation_target_value
             and float(r['test/accuracy']) >= workload.test_target_value for r in rows]
  assert reached[-1] and not any(reached[:-1])
  first_validation = next(float(r['score']) for r in rows
                          if float(r['validation/accuracy']) >= workload.validation_target_value)
  assert record.time_to_target == pytest.approx(first_validation)


def test_divergence_ends_the_trial_with_valid_logs(tmp_path):
  record = runner.run_trial(
      DigitsWorkload(), submission_loader.load('baseline'),
      helpers.trial_config(tmp_path, {**helpers.BASELINE_POINT, 'learning_rate': 1e12,
                                      'warmup_factor': 0.0},
                           max_global_steps=200, eval_every_steps=10))
  assert record.status == 'diverged'
  assert record.global_step < 200
  rows = _rows(tmp_path)
  assert rows and math.isnan(float(rows[-1]['validation/loss']))
  assert trial_files.read_status(tmp_path) == 'diverged'


def test_training_complete_error_ends_the_trial(tmp_path):
  base = submission_loader.load('baseline')

  def update_params(workload, params, param_types, model_state, hyperparameters, batch,
                    loss_type, opt_state, eval_results, global_step, rng, train_state=None):
    if global_step == 7:
      raise spec.TrainingCompleteError
    return base.update_params(workload, params, param_types, model_state, hyperparameters,
                              batch, loss_type, opt_state, eval_results, global_step, rng,
                              train_state)

  record = runner.run_trial(
      DigitsWorkload(), dataclasses.replace(base, update_params=update_params),
      helpers.trial_config(tmp_path, eval_every_steps=100))
  assert record.status == 'training_complete'
  assert record.global_step == 7
  assert int(_rows(tmp_path)[-1]['global_step']) == 7


def test_evaluating_does_not_change_training(tmp_path):
  """Params after N steps are bit-identical with frequent evals and with none."""
  finals = []
  for every in (1, 1000):
    record = runner.run_trial(
        DigitsWorkload(), submission_loader.load('baseline'),
        helpers.trial_config(tmp_path / str(every), rng_seed=3, max_global_steps=30,
                             eval_every_steps=every))
    finals.append(record.final_metrics['train/loss'])
  assert finals[0] == finals[1]


def test_algoperf_form_submission_runs(tmp_path):
  sub = submission_loader.load(str(Path(__file__).parent / 'algoperf_form_submission.py'))
  assert sub.default_search_space is not None
  point = tuning.load_search_space(sub.default_search_space)[0]
  record = runner.run_trial(
      DigitsWorkload(), sub,
      helpers.trial_config(tmp_path, point, max_global_steps=300, eval_every_steps=100,
                           checkpoint=True))
  assert record.status in ('reached_target', 'max_steps')
  assert record.final_metrics['validation/accuracy'] > 0.9


def test_step_keys_depend_only_on_seed_and_step():
  a = step_feed.StepKeys(jax.random.PRNGKey(0))
  b = step_feed.StepKeys(jax.random.PRNGKey(0))
  np.testing.assert_array_equal(a(5), b(5))
  np.testing.assert_array_equal(a(3000), b(3000))
  assert not np.array_equal(a(5), a(6))
  expected = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 3000), 3)
  np.testing.assert_array_equal(a(3000), np.asarray(expected))
