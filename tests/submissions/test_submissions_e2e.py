"""Every submission of this library end to end on the digits workload: through the runner
with its own search space (trial 1), through the CLI for one, and the promise that
evaluating (raw weights and averages) never changes training, bit for bit on CPU."""

import csv
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from avgperf import experiment
from avgperf import runner
from avgperf import submission_loader
from avgperf import trial_files
from avgperf import tuning
from avgperf.errors import UsageError
from submissions.common.optax_submission import OptaxSubmission
from workloads.digits.workload import DigitsWorkload

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = submission_loader.available()
STEP_HINT = 200


def short_digits() -> DigitsWorkload:
  """Digits with a 200-step hint (every phase of every submission happens within it) and a
  target no run reaches, so that each runs to the end."""
  workload = DigitsWorkload()
  workload.step_hint = STEP_HINT
  workload.validation_target_value = 2.0
  return workload


def rows(trial_dir):
  with open(trial_dir / trial_files.EVAL_MEASUREMENTS, newline='') as f:
    return list(csv.DictReader(f))


def test_every_submission_documents_itself_and_ships_a_search_space():
  for name in SUBMISSIONS:
    sub = submission_loader.load(name)
    assert sub.default_search_space is not None, name
    tuning.load_search_space(sub.default_search_space)
    doc = submission_loader.description(name)
    assert doc.endswith('.'), name
    if name != 'baseline':
      full = __import__(f'submissions.{name}', fromlist=['_']).__doc__
      assert 'Batch-norm statistics' in full and 'Scoring reads' in full, name


def _optax_submissions(sub) -> list[OptaxSubmission]:
  """The OptaxSubmissions a loaded submission is made of (TWA's holds one per phase)."""
  owner = getattr(sub.update_params, '__self__', None)
  if not isinstance(owner, OptaxSubmission):
    return []
  inner = [x for v in vars(owner).values() if isinstance(v, dict) for x in v.values()]
  return [owner] + [x for x in inner if isinstance(x, OptaxSubmission)]


def _compiled_steps(sub) -> list:
  return [step for s in _optax_submissions(sub)
          for _, step in s._cache.values()]  # pylint: disable=protected-access


@pytest.mark.parametrize('name', SUBMISSIONS)
def test_submission_trains_on_digits_and_logs_every_average(tmp_path, name):
  config = experiment.ExperimentConfig(experiment_dir=tmp_path, max_global_steps=STEP_HINT,
                                       eval_every_steps=50)
  sub = submission_loader.load(name)
  workload = short_digits()
  (record,) = experiment.run(config, workload, sub)
  assert record.status == 'max_steps'
  # Each train step compiled once: the optimizer state the runner hands over is placed as
  # the step's outputs are (a recompile at the second step is timed training lost).
  sizes = [step._cache_size() for step in _compiled_steps(sub)]  # pylint: disable=protected-access
  assert 1 in sizes and max(sizes) == 1, (name, sizes)
  final = rows(record.trial_dir)[-1]
  assert int(final['global_step']) == STEP_HINT
  assert float(final['validation/accuracy']) > 0.9, final['validation/accuracy']
  # Every average the submission hands over at the end has its columns, with real values
  # (EMA 0.999 still weighs the first steps heavily after 200: 0.999^200 = 0.82).
  names = {trial_files.parse_column(c)[1] for c in final if trial_files.parse_column(c)}
  for average in names - {None}:
    assert float(final[f'validation/{average}/accuracy']) > 0.3, average


def test_a_sweep_keeps_one_compiled_step(tmp_path):
  """Trials of a sweep run one after another; the previous trial's program is released."""
  sub = submission_loader.load('baseline')
  config = experiment.ExperimentConfig(experiment_dir=tmp_path, num_tuning_trials=3,
                                       max_global_steps=4, eval_every_steps=4)
  experiment.run(config, short_digits(), sub)
  assert len(_compiled_steps(sub)) == 1


def test_branches_appear_when_they_end(tmp_path):
  config = experiment.ExperimentConfig(experiment_dir=tmp_path, max_global_steps=STEP_HINT,
                                       eval_every_steps=50)
  (record,) = experiment.run(config, short_digits(), submission_loader.load('wsd_branches'))
  by_step = {r['global_step']: r for r in rows(record.trial_dir)}
  # Step hint 200, cooldown fraction 0.2: branches end at 50, 100, 150 after cooling down
  # over 10, 20, 30 steps.
  assert by_step['50']['validation/cooldown_40+10/accuracy'] != ''
  assert by_step['50'].get('validation/cooldown_80+20/accuracy', '') == ''
  assert float(by_step['200']['validation/cooldown_120+30/accuracy']) > 0.85


def test_cli_runs_a_many_averages_submission(tmp_path):
  out = subprocess.run(
      [sys.executable, '-m', 'avgperf', 'run', '--workload=digits',
       '--submission=nadamw_many_averages', f'--experiment_dir={tmp_path}',
       '--max_global_steps=60', '--eval_every_steps=30', '--no_progress'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  header = rows(tmp_path / 'digits_jax' / 'trial_1')[0].keys()
  for average in ('ema_0.9', 'ema_0.99', 'ema_0.999', 'lawa_5', 'lawa_20'):
    assert f'validation/{average}/accuracy' in header


def _train(name, hyperparameters, steps, eval_every):
  """The runner's calls, by hand: returns the raw params after `steps` updates, evaluating
  (prepare_for_eval, averaged_params, and the eval itself) every `eval_every` steps."""
  workload = short_digits()
  workload.step_hint = 40  # TWA's switch, PSWA's restarts, branches: all within 40 steps
  sub = submission_loader.load(name)
  rng = jax.random.PRNGKey(0)
  params, model_state = workload.init_model_fn(rng)
  opt_state = sub.init_optimizer_state(workload, params, model_state, hyperparameters, rng)
  batches = workload.input_iterator('train', rng, sub.get_batch_size('digits'))
  types = workload.model_params_types
  for step in range(steps):
    key = jax.random.fold_in(rng, step)
    batch = sub.data_selection(workload, batches, opt_state, params, model_state,
                               hyperparameters, step, key)
    opt_state, params, model_state = sub.update_params(
        workload, params, types, model_state, hyperparameters, batch, workload.loss_type,
        opt_state, [], step, key)
    if eval_every and (step + 1) % eval_every == 0:
      _, eval_params, eval_state = sub.prepare_for_eval(
          workload, params, types, model_state, hyperparameters, workload.loss_type,
          opt_state, [], step + 1, key)
      averages = sub.averaged_params(workload, params, model_state, opt_state,
                                     hyperparameters, step + 1) if sub.averaged_params else {}
      if (step + 1) % (5 * eval_every) == 0:
        workload.eval_model(eval_params, eval_state, key)
        for avg_params, avg_state in averages.values():
          workload.eval_model(avg_params, avg_state, key)
      jax.block_until_ready((eval_params, eval_state, averages))
  return jax.device_get(params)


@pytest.mark.parametrize('name', SUBMISSIONS)
def test_evaluating_averages_does_not_change_training(name):
  space = tuning.load_search_space(submission_loader.load(name).default_search_space)
  # The second points hold LAWA's host buffer and TWA-v with a quantised basis.
  points = space[:2] if name in ('nadamw_lawa', 'wsd_lawa', 'nadamw_twa') else space[:1]
  for point in points:
    h = tuning.make_hyperparameters(point)
    with_evals = _train(name, h, steps=40, eval_every=2)
    without = _train(name, h, steps=40, eval_every=0)
    jax.tree.map(np.testing.assert_array_equal, with_evals, without)


@pytest.mark.parametrize('name,point', [('nadamw_lawa', 1), ('nadamw_twa', 1)])
def test_averaging_state_survives_a_resume(tmp_path, name, point):
  """Stopped at step 100 and resumed from its checkpoint, a trial ends where an uninterrupted
  one does: the averaging state (a host-memory LAWA buffer; TWA's quantised basis and
  coefficients) is checkpointed with the optimizer state."""
  sub = submission_loader.load(name)
  h = tuning.load_search_space(sub.default_search_space)[point]

  def trial(trial_dir, steps, resume=False):
    return runner.run_trial(short_digits(), sub, runner.TrialConfig(
        trial_dir=trial_dir, rng_seed=1, budget_sec=1e9, batch_size=64, hyperparameters=h,
        max_global_steps=steps, eval_every_steps=50, resume=resume))

  straight = trial(tmp_path / 'straight', 200)
  trial(tmp_path / 'resumed', 100)
  resumed = trial(tmp_path / 'resumed', 200, resume=True)
  for column in ('validation/accuracy', 'validation/loss', 'train/loss'):
    assert resumed.final_metrics[column] == straight.final_metrics[column], column


@pytest.mark.parametrize('name', SUBMISSIONS)
def test_every_submission_plans_under_the_self_tuning_ruleset(tmp_path, name):
  """Each submission either sets its own hyperparameters (the plan checks, abstractly, that
  it can start with none) or is refused for the ruleset in one line."""
  sub = submission_loader.load(name)
  config = experiment.ExperimentConfig(experiment_dir=tmp_path, ruleset='self')
  if sub.self_tuning:
    (trial,) = experiment.plan(config, short_digits(), sub)
    assert trial.hyperparameters is None
  else:
    with pytest.raises(UsageError, match='self-tuning'):
      experiment.plan(config, short_digits(), sub)
