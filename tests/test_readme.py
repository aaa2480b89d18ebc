"""The README's examples run as written: the submission of "Writing a submission" trains on
digits with its averages logged, and the averager example computes what it says."""

import csv
import json
import re

import jax
import jax.numpy as jnp
import numpy as np

from avgperf import experiment
from avgperf import submission_loader
from tests.conftest import REPO
from workloads.digits.workload import DigitsWorkload


def _section_code(heading: str) -> list[str]:
  text = (REPO / 'README.md').read_text()
  section = text.split(f'## {heading}\n', 1)[1].split('\n## ', 1)[0]
  return re.findall(r'```python\n(.*?)```', section, flags=re.S)


def test_the_submission_example_trains_and_logs_its_averages(tmp_path):
  submission_code, _ = _section_code('Writing a submission')
  (tmp_path / 'example.py').write_text(submission_code)
  point = json.loads((REPO / 'configs' / 'search_spaces' / 'baseline.json').read_text())[0]
  (tmp_path / 'tuning_search_space.json').write_text(json.dumps([point]))
  sub = submission_loader.load(str(tmp_path / 'example.py'))
  workload = DigitsWorkload()
  workload.validation_target_value = 2.0  # run to the end
  config = experiment.ExperimentConfig(experiment_dir=tmp_path / 'exp', max_global_steps=300,
                                       eval_every_steps=150)
  (record,) = experiment.run(config, workload, sub)
  with open(record.trial_dir / 'eval_measurements.csv', newline='') as f:
    last = list(csv.DictReader(f))[-1]
  for column in ('validation/accuracy', 'validation/ema_0.9/accuracy',
                 'validation/lawa_10/accuracy'):
    assert 0.5 < float(last[column]) <= 1.0, column
  # The scored weights are the EMA (0.99), not the raw weights the run trains.
  assert last['validation/accuracy'] != last['validation/lawa_10/accuracy'] or (
      last['validation/loss'] != last['validation/lawa_10/loss'])


def test_the_averager_example_is_the_mean_from_start():
  _, averager_code = _section_code('Writing a submission')
  namespace = {}
  exec(averager_code, namespace)  # pylint: disable=exec-used
  avg = namespace['running_mean'](start=3)
  params = {'w': jnp.zeros(2)}
  state = avg.init(params)
  assert avg.result(state, params) is params or np.array_equal(avg.result(state, params)['w'],
                                                                params['w'])
  update = jax.jit(avg.update)
  for t in range(1, 7):
    state = update({'w': jnp.full(2, float(t))}, state, t)
  np.testing.assert_allclose(avg.result(state, params)['w'], [4.5, 4.5])  # mean of 3..6
