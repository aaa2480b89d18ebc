"""Studies and trials: folders, seeds, rulesets, and resuming a finished sweep."""

import json
from pathlib import Path

import pytest

from avgperf import experiment
from avgperf import submission_loader
from avgperf.errors import UsageError
from workloads.digits.workload import DigitsWorkload

HERE = Path(__file__).parent


def _meta(trial_dir):
  return json.loads((trial_dir / 'meta_data.json').read_text())


def test_studies_and_trials_get_their_own_folders_and_seeds(tmp_path):
  workload, sub = DigitsWorkload(), submission_loader.load('baseline')
  config = experiment.ExperimentConfig(
      experiment_dir=tmp_path, num_tuning_trials=2,
      studies=[0, 1], max_global_steps=20, eval_every_steps=10)
  records = experiment.run(config, workload, sub)
  dirs = [tmp_path / f'study_{s}' / 'digits_jax' / f'trial_{t}' for s in (0, 1) for t in (1, 2)]
  assert [r.trial_dir for r in records] == dirs
  seeds = [_meta(d)['rng_seed'] for d in dirs]
  assert len(set(seeds)) == 4
  hparams = [json.loads((d / 'hparams.json').read_text()) for d in dirs]
  points = json.loads(sub.default_search_space.read_text())
  assert hparams == [points[0], points[1], points[0], points[1]]
  assert all(r.status == 'max_steps' for r in records)

  # A resumed sweep leaves finished trials as they are.
  before = [(d / 'eval_measurements.csv').read_text() for d in dirs]
  again = experiment.run(
      experiment.ExperimentConfig(**{**config.__dict__, 'resume': True}), workload, sub)
  assert [r.status for r in again] == ['max_steps'] * 4
  assert [(d / 'eval_measurements.csv').read_text() for d in dirs] == before


def test_self_tuning_runs_one_trial_with_one_and_a_half_budgets(tmp_path):
  workload = DigitsWorkload()
  sub = submission_loader.load(str(HERE / 'self_tuning_submission.py'))
  records = experiment.run(experiment.ExperimentConfig(
      experiment_dir=tmp_path, ruleset='self',
      num_tuning_trials=5, max_global_steps=10, eval_every_steps=10), workload, sub)
  assert len(records) == 1
  meta = _meta(records[0].trial_dir)
  assert meta['budget_sec'] == 1.5 * workload.max_allowed_runtime_sec
  assert json.loads((records[0].trial_dir / 'hparams.json').read_text()) == {}


def test_budget_factor_multiplies_the_budget_and_bad_factors_stop_at_once(tmp_path):
  workload, sub = DigitsWorkload(), submission_loader.load('baseline')
  config = experiment.ExperimentConfig(experiment_dir=tmp_path, budget_factor=2.5)
  (plan,) = experiment.plan(config, workload, sub)
  assert plan.budget_sec == 2.5 * workload.max_allowed_runtime_sec
  for bad in (0.0, -1.0, float('nan')):
    with pytest.raises(UsageError, match='budget_factor'):
      experiment.plan(experiment.ExperimentConfig(experiment_dir=tmp_path / 'x',
                                                  budget_factor=bad), workload, sub)
  assert not (tmp_path / 'x').exists()
