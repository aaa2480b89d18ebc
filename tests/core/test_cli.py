"""The command line: listings, descriptions, and one-line errors with exit code 2."""

import json
import os
import stat

import pytest

from avgperf import cli
from configs import workloads as workload_configs


def _run(capsys, *argv):
  code = cli.main(list(argv))
  out, err = capsys.readouterr()
  return code, out, err


def test_list_json_names_workloads_and_submissions(capsys):
  code, out, _ = _run(capsys, 'list', '--json')
  assert code == 0
  listing = json.loads(out)
  digits = next(w for w in listing['workloads'] if w['name'] == 'digits')
  assert digits['params'] == 64 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10
  assert digits['validation_target'] == workload_configs.facts('digits').validation_target
  assert 'baseline' in [s['name'] for s in listing['submissions']]


def test_describe_prints_shapes_and_totals(capsys):
  code, out, _ = _run(capsys, 'describe', 'digits', '--json')
  assert code == 0
  tree = json.loads(out)
  assert tree['params']['shapes']['Dense_0/kernel'] == [64, 256]
  assert tree['params']['total'] == 85_002
  assert tree['model_state']['total'] == 0


def _assert_usage_error(capsys, tmp_path, *argv, contains):
  before = sorted(p.name for p in tmp_path.iterdir())
  code, out, err = _run(capsys, 'run', '--no_progress', *argv)
  assert code == 2
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('avgperf: error:'), err
  assert contains in lines[0]
  assert 'Traceback' not in err + out
  assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written


def test_unknown_workload(capsys, tmp_path):
  _assert_usage_error(capsys, tmp_path, '--workload=nope', f'--experiment_dir={tmp_path}/x',
                      contains="unknown workload 'nope'")


def test_unknown_submission(capsys, tmp_path):
  _assert_usage_error(capsys, tmp_path, '--submission=nope', f'--experiment_dir={tmp_path}/x',
                      contains="unknown submission 'nope'")


def test_submission_missing_a_function(capsys, tmp_path):
  module = tmp_path / 'partial.py'
  module.write_text('def get_batch_size(name):\n  return 64\n')
  _assert_usage_error(capsys, tmp_path, f'--submission={module}',
                      f'--experiment_dir={tmp_path}/x',
                      contains='lacks init_optimizer_state, update_params, data_selection')


@pytest.mark.parametrize('space, contains', [
    ('{"learning_rate": {"min": 1, "max": 0.1}}', 'min > max'),
    ('{"learning_rate": {"min": 0, "max": 1, "scaling": "log"}}', 'log scaling with min <= 0'),
    ('{"learning_rate": {"min": 0.1}}', 'lacks max'),
    ('{"learning_rate": 3}', 'must be an object'),
    ('[]', 'list search space'),
    ('{"learning_rate": ', 'not valid JSON'),
])
def test_malformed_search_space(capsys, tmp_path, space, contains):
  path = tmp_path / 'space.json'
  path.write_text(space)
  _assert_usage_error(capsys, tmp_path, f'--tuning_search_space={path}',
                      f'--experiment_dir={tmp_path}/x', contains=contains)


def test_too_many_trials_for_fixed_points(capsys, tmp_path):
  _assert_usage_error(capsys, tmp_path, '--num_tuning_trials=6',
                      f'--experiment_dir={tmp_path}/x', contains='only 5 points')


@pytest.mark.parametrize('flag, contains', [
    ('--max_global_steps=0', 'max_global_steps must be at least 1'),
    ('--eval_every_steps=-5', 'eval_every_steps must be at least 1'),
    ('--study=-1', 'studies are numbered from 0'),
    ('--num_studies=0', 'studies are numbered from 0'),
    ('--budget_factor=0', 'budget_factor must be positive'),
])
def test_counts_out_of_range(capsys, tmp_path, flag, contains):
  _assert_usage_error(capsys, tmp_path, flag, f'--experiment_dir={tmp_path}/x', contains=contains)


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write anywhere')
def test_unwritable_experiment_dir_as_user(capsys, tmp_path):
  locked = tmp_path / 'locked'
  locked.mkdir()
  locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
  _assert_usage_error(capsys, tmp_path, f'--experiment_dir={locked}/x', contains='not writable')


def test_experiment_dir_under_a_file_says_it_is_a_file(capsys, tmp_path):
  (tmp_path / 'afile').write_text('')
  _assert_usage_error(capsys, tmp_path, f'--experiment_dir={tmp_path}/afile/x',
                      contains='is a file')


def test_existing_trial_needs_resume(capsys, tmp_path):
  trial = tmp_path / 'digits_jax' / 'trial_1'
  trial.mkdir(parents=True)
  (trial / 'eval_measurements.csv').write_text('global_step\n1\n')
  _assert_usage_error(capsys, tmp_path, f'--experiment_dir={tmp_path}', contains='--resume')


def test_run_prints_where_the_logs_are_and_the_time_to_target(capsys, tmp_path):
  code, out, _ = _run(capsys, 'run', '--no_progress', f'--experiment_dir={tmp_path}',
                      '--eval_every_steps=50', '--max_global_steps=1000')
  assert code == 0
  assert f'logs: {tmp_path}' in out
  assert 'time-to-target' in out
  assert (tmp_path / 'digits_jax' / 'trial_1' / 'status').read_text().strip() == 'reached_target'


def test_score_of_an_empty_folder_is_a_usage_error(capsys, tmp_path):
  code, _, err = _run(capsys, 'score', str(tmp_path), f'--out={tmp_path}/out')
  assert code == 2
  assert len(err.strip().splitlines()) == 1 and 'Traceback' not in err


def test_score_and_plot_our_own_runs(capsys, tmp_path):
  logs = tmp_path / 'logs'
  for name in ('baseline', 'baseline_again'):
    assert cli.main(['run', '--no_progress', f'--experiment_dir={logs}/{name}/study_0',
                     '--eval_every_steps=50', '--max_global_steps=2000',
                     f'--rng_seed={len(name)}']) == 0
  capsys.readouterr()
  code, out, _ = _run(capsys, 'score', str(logs), '--time_col=global_step', '--num_studies=1',
                      f'--out={tmp_path}/scores')
  assert code == 0
  assert 'baseline_again' in out
  scores = (tmp_path / 'scores' / 'scores.csv').read_text().splitlines()
  assert scores[0].split(',')[:2] == ['submission', 'score']
  by_name = {line.split(',')[0]: float(line.split(',')[1]) for line in scores[1:]}
  assert max(by_name.values()) == 1.0  # the faster run is fastest on the one workload
  assert 0.0 < min(by_name.values()) <= 1.0
  assert (tmp_path / 'scores' / 'performance_profiles.png').stat().st_size > 10_000
  code, out, _ = _run(capsys, 'plot', str(logs), '--workload=digits',
                      f'--out={tmp_path}/curves.png')
  assert code == 0 and (tmp_path / 'curves.png').stat().st_size > 10_000
