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

from avgperf import experiment, logs
from avgperf import submission as submission_lib
from avgperf import tuning
from submissions.common.optax_submission import OptaxSubmission
from workloads.digits.workload import DigitsWorkload

REPO = Path(__file__).resolve().parents[2]
SUBMISSIONS = ('nadamw_ema', 'nadamw_lawa', 'nadamw_swa', 'wsd', 'wsd_lawa', 'sgd_pswa',
               'nadamw_twa', 'schedule_free_adamw', 'two_regime', 'nadamw_many_averages',
               'wsd_branches')
STEP_HINT = 200
# Columns each submission adds beside the scored `validation/accuracy`.
AVERAGE_COLUMNS = {
    'nadamw_many_averages': ['ema_0.9', 'ema_0.99', 'ema_0.999', 'lawa_5', 'lawa_20'],
    'wsd_branches': ['cooldown_10+40', 'cooldown_60+40', 'cooldown_110+40'],
}


def short_digits() -> DigitsWorkload:
  """Digits with a 200-step hint (every phase of every submission happens within it) and a
  target no run reaches, so that each runs to the end."""
  workload = DigitsWorkload()
  workload.step_hint = STEP_HINT
  workload.validation_target_value = 2.0
  return workload


def rows(trial_dir):
  with open(trial_dir / logs.EVAL_MEASUREMENTS, newline='') as f:
    return list(csv.DictReader(f))


def test_all_submissions_are_listed_with_search_spaces():
  available = submission_lib.available()
  for name in SUBMISSIONS + ('baseline',):
    assert name in available
    sub = submission_lib.load(name)
    assert sub.default_search_space is not None, name
    tuning.load_search_space(sub.default_search_space)
    if name != 'baseline':
      doc = sub.module.__doc__
      assert 'Batch-norm statistics' in doc and 'Scoring reads' in doc, name


def _compiled_steps(module) -> list:
  """The jitted train steps of the OptaxSubmissions a submission module is built from."""
  found = [getattr(v, '__self__', None) for v in vars(module).values()]
  found += [x for v in vars(module).values() if isinstance(v, dict) for x in v.values()]
  subs = {id(x): x for x in found if isinstance(x, OptaxSubmission)}.values()
  return [step for sub in subs for step in sub._steps.values()]  # pylint: disable=protected-access


@pytest.mark.parametrize('name', ('baseline',) + SUBMISSIONS)
def test_submission_trains_on_digits(tmp_path, name):
  config = experiment.ExperimentConfig(experiment_dir=tmp_path, workload='digits',
                                       submission=name, max_global_steps=STEP_HINT,
                                       eval_every_steps=50)
  sub = submission_lib.load(name)
  (record,) = experiment.run(config, short_digits(), sub)
  assert record.status == 'max_steps'
  # Each train step compiled once: the optimizer state the runner hands over is placed as
  # the step's outputs are (a recompile at the second step is timed training lost).
  steps = _compiled_steps(sub.module)
  assert steps and all(step._cache_size() == 1 for step in steps), name  # pylint: disable=protected-access
  final = rows(record.trial_dir)[-1]
  assert int(final['global_step']) == STEP_HINT
  assert float(final['validation/accuracy']) > 0.9, final['validation/accuracy']
  for average in AVERAGE_COLUMNS.get(name, []):
    value = float(final[f'validation/{average}/accuracy'])
    # EMA 0.999 still weighs the first steps heavily after 200 (0.999^200 = 0.82), and the
    # first branch is a 50-step run: logged, but lower.
    assert value > {'ema_0.999': 0.3, 'cooldown_10+40': 0.7}.get(average, 0.85), (average, value)
  if name == 'wsd_branches':  # a branch's column appears once the branch has ended
    first = {r['global_step']: r for r in rows(record.trial_dir)}['50']
    assert first['validation/cooldown_10+40/accuracy'] != ''
    assert first.get('validation/cooldown_60+40/accuracy', '') == ''


def test_cli_runs_a_many_averages_submission(tmp_path):
  out = subprocess.run(
      [sys.executable, '-m', 'avgperf', 'run', '--workload=digits',
       '--submission=nadamw_many_averages', f'--experiment_dir={tmp_path}',
       '--max_global_steps=60', '--eval_every_steps=30', '--no_progress'],
      cwd=REPO, capture_output=True, text=True, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  header = rows(tmp_path / 'digits_jax' / 'trial_1')[0].keys()
  for average in AVERAGE_COLUMNS['nadamw_many_averages']:
    assert f'validation/{average}/accuracy' in header


def _train(name, hyperparameters, steps, eval_every):
  """The runner's calls, by hand: returns the raw params after `steps` updates, evaluating
  (prepare_for_eval, averaged_params, and the eval itself) every `eval_every` steps."""
  workload = short_digits()
  workload.step_hint = 40  # TWA's switch, PSWA's restarts, branches: all within 40 steps
  sub = submission_lib.load(name)
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
                                     hyperparameters, step + 1) if sub.has('averaged_params') else {}
      if (step + 1) % (5 * eval_every) == 0:
        workload.eval_model(eval_params, eval_state, key)
        for avg_params, avg_state in averages.values():
          workload.eval_model(avg_params, avg_state, key)
      jax.block_until_ready((eval_params, eval_state, averages))
  return jax.device_get(params)


@pytest.mark.parametrize('name', SUBMISSIONS)
def test_evaluating_averages_does_not_change_training(name):
  space = tuning.load_search_space(submission_lib.load(name).default_search_space)
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
  from avgperf import runner  # pylint: disable=g-import-not-at-top

  sub = submission_lib.load(name)
  h = tuning.make_hyperparameters(tuning.load_search_space(sub.default_search_space)[point])

  def trial(trial_dir, steps, resume=False):
    return runner.run_trial(short_digits(), sub, h, runner.TrialConfig(
        trial_dir=trial_dir, rng_seed=1, budget_sec=1e9, max_global_steps=steps,
        eval_every_steps=50, resume=resume))

  straight = trial(tmp_path / 'straight', 200)
  trial(tmp_path / 'resumed', 100)
  resumed = trial(tmp_path / 'resumed', 200, resume=True)
  for column in ('validation/accuracy', 'validation/loss', 'train/loss'):
    assert resumed.final_metrics[column] == straight.final_metrics[column], column
