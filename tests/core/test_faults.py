"""Faults and bad input: a resume after any crash ends as a straight run would, a resume
with other settings is refused, damaged checkpoints are fallen back from, two processes never
run one trial, and bad input is one line, exit 2, with nothing written. Each `avgperf run`
here is a fresh process, as a user's is."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from avgperf import cli
from avgperf import trial_lock
from tests.conftest import REPO

TRIAL = Path('digits_jax') / 'trial_1'
RUN = ('--workload=digits', '--eval_every_steps=20', '--max_global_steps=100', '--rng_seed=0')


def _avgperf(*args, env=None):
  env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2', **(env or {})}
  return subprocess.run([sys.executable, '-m', 'avgperf.cli', 'run', '--no_progress', *args],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _rows(experiment_dir):
  with open(Path(experiment_dir) / TRIAL / 'eval_measurements.csv', newline='') as f:
    return list(csv.DictReader(f))


def _metrics(row):
  return {k: v for k, v in row.items() if '/' in k or k == 'global_step'}


def _files(folder: Path) -> dict:
  return {p: p.read_bytes() for p in sorted(folder.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def straight(tmp_path_factory):
  out = tmp_path_factory.mktemp('straight')
  assert _avgperf(*RUN, f'--experiment_dir={out}').returncode == 0
  return out


def _copy(src: Path, dst: Path) -> Path:
  subprocess.run(['cp', '-r', str(src), str(dst)], check=True)
  return dst


def test_a_trial_killed_after_its_last_checkpoint_resumes_to_nothing_more(straight, tmp_path):
  out = _copy(straight, tmp_path / 'exp')
  (out / TRIAL / 'status').write_text('running\n')  # killed before the status was written
  done = _avgperf(*RUN, f'--experiment_dir={out}', '--resume')
  assert done.returncode == 0, done.stderr
  assert _rows(out) == _rows(straight)  # no extra step, no extra row
  assert (out / TRIAL / 'status').read_text().strip() == 'max_steps'


@pytest.mark.parametrize('flag, value', [
    ('--rng_seed', '1'), ('--eval_every_steps', '25'), ('--submission', 'nadamw_ema'),
    ('--tuning_search_space', 'second point')])
def test_a_resume_with_other_settings_is_refused_before_anything_is_written(
    straight, tmp_path, flag, value):
  out = _copy(straight, tmp_path / 'exp')
  (out / TRIAL / 'status').write_text('running\n')
  if value == 'second point':
    points = json.loads((REPO / 'configs/search_spaces/baseline.json').read_text())
    (tmp_path / 'space.json').write_text(json.dumps(points[1:]))
    value = str(tmp_path / 'space.json')
  before = _files(out)
  args = [a for a in RUN if not a.startswith(flag)] + [f'{flag}={value}']
  refused = _avgperf(*args, f'--experiment_dir={out}', '--resume')
  assert refused.returncode == 2
  lines = refused.stderr.strip().splitlines()
  assert len(lines) == 1 and 'cannot resume' in lines[0] and 'differs' in lines[0], lines
  assert _files(out) == before


def test_a_raised_step_limit_goes_on_from_where_the_trial_stopped(straight, tmp_path):
  out = _copy(straight, tmp_path / 'exp')
  args = [a for a in RUN if not a.startswith('--max_global_steps')] + ['--max_global_steps=140']
  assert _avgperf(*args, f'--experiment_dir={out}', '--resume').returncode == 0
  assert [int(r['global_step']) for r in _rows(out)] == list(range(20, 141, 20))
  longer = tmp_path / 'longer'
  assert _avgperf(*args, f'--experiment_dir={longer}').returncode == 0
  assert _metrics(_rows(out)[-1]) == _metrics(_rows(longer)[-1])


def _damage(checkpoint: Path, how: str) -> None:
  state = checkpoint / 'state'
  if how == 'random bytes':
    data = max((p for p in state.rglob('*') if p.is_file() and 'd' in p.parent.name),
               key=lambda p: p.stat().st_size)
    data.write_bytes(os.urandom(data.stat().st_size))
  elif how == 'zero bytes':
    for p in state.rglob('*'):
      if p.is_file() and p.parent.name == 'd':
        p.write_bytes(b'')
  elif how == 'empty manifest':
    (state / 'manifest.ocdbt').write_bytes(b'')
  elif how == 'garbage metadata':
    (state / '_METADATA').write_text('{not json')


@pytest.mark.parametrize('how', ['random bytes', 'zero bytes', 'empty manifest',
                                 'garbage metadata'])
def test_a_damaged_latest_checkpoint_falls_back_to_the_one_before(straight, tmp_path, how):
  out = _copy(straight, tmp_path / 'exp')
  (out / TRIAL / 'status').write_text('running\n')
  checkpoints = sorted((out / TRIAL / 'checkpoints').iterdir(), key=lambda p: int(p.name))
  assert [p.name for p in checkpoints] == ['80', '100']  # the last two are kept
  _damage(checkpoints[-1], how)
  done = _avgperf(*RUN, f'--experiment_dir={out}', '--resume')
  assert done.returncode == 0, done.stderr[-2000:]
  warnings = [l for l in done.stderr.splitlines() if l.startswith('avgperf: warning')]
  assert len(warnings) == 1 and 'damaged' in warnings[0], done.stderr[-2000:]
  assert [_metrics(r) for r in _rows(out)] == [_metrics(r) for r in _rows(straight)]


def test_with_every_checkpoint_damaged_the_trial_starts_again(straight, tmp_path):
  out = _copy(straight, tmp_path / 'exp')
  (out / TRIAL / 'status').write_text('running\n')
  for checkpoint in (out / TRIAL / 'checkpoints').iterdir():
    _damage(checkpoint, 'garbage metadata')
  done = _avgperf(*RUN, f'--experiment_dir={out}', '--resume')
  assert done.returncode == 0, done.stderr[-2000:]
  assert [_metrics(r) for r in _rows(out)] == [_metrics(r) for r in _rows(straight)]


def test_a_trial_held_by_another_process_is_refused_alone_and_skipped_in_a_sweep(tmp_path):
  out = tmp_path / 'exp'
  with trial_lock.TrialLock(out / TRIAL):
    alone = _avgperf(*RUN, f'--experiment_dir={out}')
    sweep = _avgperf(*RUN, f'--experiment_dir={tmp_path / "sweep"}', '--num_tuning_trials=2')
  assert alone.returncode == 2 and 'another avgperf process' in alone.stderr
  assert not (out / TRIAL / 'eval_measurements.csv').exists()
  assert sweep.returncode == 0  # its trial_1 is free: both ran
  with trial_lock.TrialLock(tmp_path / 'sweep' / TRIAL):
    again = _avgperf(*RUN, f'--experiment_dir={tmp_path / "sweep"}', '--num_tuning_trials=2',
                     '--resume', '--max_global_steps=120')
  assert again.returncode == 0
  assert 'trial_1 is being run by another avgperf process; skipped it' in again.stderr
  assert _rows(tmp_path / 'sweep')[-1]['global_step'] == '100'  # trial_1 untouched
  second = tmp_path / 'sweep' / 'digits_jax' / 'trial_2' / 'eval_measurements.csv'
  assert list(csv.DictReader(second.open()))[-1]['global_step'] == '120'


def test_resume_of_a_finished_experiment_says_there_is_nothing_to_do(straight, tmp_path):
  out = _copy(straight, tmp_path / 'exp')
  done = _avgperf(*RUN, f'--experiment_dir={out}', '--resume')
  assert done.returncode == 0 and 'nothing to do' in done.stdout


def _refused_in_process(capsys, *args) -> str:
  """Runs `avgperf run` in this process (bad input fails before any training) and returns
  its one error line."""
  code = cli.main(['run', '--no_progress', *args])
  out, err = capsys.readouterr()
  assert code == 2, out + err
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('avgperf: error:'), err
  assert 'Traceback' not in out + err
  return lines[0]


BAD_SUBMISSIONS = {
    'syntax.py': ('def f(:\n  pass\n', 'syntax.py:1: syntax error'),
    'name_error.py': ('import os\nx = undefined_name\n', 'line 2: NameError'),
    'zero_batch.py': ('from submissions.baseline import SUBMISSION as base\n'
                      'get_batch_size = lambda name: 0\n'
                      'init_optimizer_state = base.init_optimizer_state\n'
                      'update_params = base.update_params\n'
                      'data_selection = base.data_selection\n',
                      "get_batch_size('digits') returned 0"),
}


@pytest.mark.parametrize('name', sorted(BAD_SUBMISSIONS))
def test_a_broken_submission_is_one_line(capsys, tmp_path, name):
  code, message = BAD_SUBMISSIONS[name]
  (tmp_path / name).write_text(code)
  out = tmp_path / 'exp'
  space = REPO / 'configs' / 'search_spaces' / 'baseline.json'
  line = _refused_in_process(capsys, f'--submission={tmp_path / name}',
                             f'--experiment_dir={out}', f'--tuning_search_space={space}')
  assert message in line and not out.exists()
  assert not (tmp_path / '__pycache__').exists()


@pytest.mark.parametrize('space, message', [
    ([{'learning_rate': 0.001, 'one_minus_beta1': 0.1, 'beta2': 0.99, 'weight_decay': 0.1}],
     "lacks hyperparameter 'warmup_factor'"),
    ([{'learning_rate': 'abc', 'one_minus_beta1': 0.1, 'beta2': 0.99, 'weight_decay': 0.1,
       'warmup_factor': 0.05}], 'its text values: {"learning_rate": "abc"}'),
    ({'learning_rate': {'min': float('nan'), 'max': 0.1}}, 'must be finite'),
])
def test_a_search_space_point_the_submission_cannot_use_is_one_line(capsys, tmp_path, space,
                                                                     message):
  (tmp_path / 'space.json').write_text(json.dumps(space))
  out = tmp_path / 'exp'
  line = _refused_in_process(capsys, f'--tuning_search_space={tmp_path / "space.json"}',
                             f'--experiment_dir={out}')
  assert message in line and not out.exists()


@pytest.mark.parametrize('args, message', [
    (('--experiment_dir=/proc/avgperf_test',), 'not writable'),
    (('--workload=imagenet_resnet', '--data_dir=/nonexistent'), 'scripts/prepare_data.py'),
    (('--workload=fastmri', '--data_dir=/nonexistent'), 'scripts/prepare_data.py'),
])
def test_unusable_folders_and_absent_data_are_one_line(capsys, tmp_path, args, message):
  extra = () if any('experiment_dir' in a for a in args) else (
      f'--experiment_dir={tmp_path / "exp"}',)
  assert message in _refused_in_process(capsys, *args, *extra)
  assert not (tmp_path / 'exp').exists()


def test_an_experiment_folder_blocked_by_a_file_says_so(capsys, tmp_path):
  (tmp_path / 'digits_jax').write_text('')
  assert 'digits_jax is a file' in _refused_in_process(capsys, f'--experiment_dir={tmp_path}')


def test_an_exception_in_the_submission_keeps_its_traceback_in_the_trial(tmp_path):
  (tmp_path / 'raises.py').write_text(
      'from submissions.baseline import SUBMISSION as base\n'
      'get_batch_size = base.get_batch_size\n'
      'init_optimizer_state = base.init_optimizer_state\n'
      'data_selection = base.data_selection\n'
      'def update_params(*args, **kwargs):\n'
      '  raise RuntimeError("a bug in the update")\n')
  (tmp_path / 'tuning_search_space.json').write_text(
      (REPO / 'configs/search_spaces/baseline.json').read_text())
  out = tmp_path / 'exp'
  failed = _avgperf(f'--submission={tmp_path / "raises.py"}', f'--experiment_dir={out}',
                    '--num_tuning_trials=2')
  assert failed.returncode == 1 and 'a bug in the update' in failed.stderr
  assert (out / TRIAL / 'status').read_text().strip() == 'error'
  assert 'raise RuntimeError("a bug in the update")' in (out / TRIAL / 'error.txt').read_text()
  assert not (out / 'digits_jax' / 'trial_2').exists()  # the sweep stops at the first bug
