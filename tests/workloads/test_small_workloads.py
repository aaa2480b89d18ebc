"""The small siblings: same model code at small sizes, data that needs no download and no
TensorFlow, exact resume, and the baseline reaching each target."""

import json
import math
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from configs import workloads as workload_configs
from workloads import registry

REPO = Path(__file__).resolve().parents[2]
# Every registered workload that trains on data needing no download (its facts are in SMALL).
SMALL = [name for name in registry.names() if name in workload_configs.SMALL]


def _count(tree) -> int:
  return sum(math.prod(x.shape) for x in jax.tree.leaves(tree))


@pytest.mark.parametrize('name, params, state', [
    # the spec's small configs (§12) with 1 input channel and 10 classes:
    # 557,684 - (7*7*2*16) - (512*90 + 90) and 485,092 - (8*8*2*96) - (96*90 + 90)
    ('imagenet_resnet_small', 509_946, 4_832),
    ('imagenet_vit_small', 464_074, 0),
    ('fastmri_small', 484_817, 0),
    # §5.6's 329,120 with 14 output tokens instead of 256: minus 64 * 242 + 242
    ('librispeech_conformer_small', 313_390, 256),
    ('criteo1tb_small', 2_321_505, 0),
    # d128, 2 layers, MLP 512: 2 * (4 * 128^2 + 1 + 128 * 1024 + 512 * 128 + 2 * 128)
    # + 256 * 128 embedding + 128 final norm
    ('finewebedu_lm_small', 557_698, 0),
])
def test_small_models_are_the_same_code_at_small_sizes(name, params, state):
  p, s = registry.get(name).abstract_init()
  assert (_count(p), _count(s)) == (params, state)


_NO_TF = """
import sys
import jax
from configs import workloads as workload_configs
from workloads import registry
for name in %r:  # what `avgperf list` does with each workload
  registry.get(name).abstract_init()
for name in %r:
  w = registry.get(name)
  for split in ('train', 'validation'):
    next(iter(w.input_iterator(split, jax.random.PRNGKey(0), 8)))
print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tensorflow_datasets')))
"""


def test_small_workloads_and_listing_never_import_tensorflow():
  code = _NO_TF % (registry.names(), SMALL)
  out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                       check=True, timeout=300)
  assert out.stdout.strip().splitlines()[-1] == '[]'


@pytest.mark.parametrize('name', SMALL)
def test_small_train_batches_resume_exactly_and_eval_pads(name):
  """Whatever a batch's layout: a resumed stream equals the original from the same step,
  another seed gives other batches, and an eval split comes in batches of one shape whose
  per-example weights count each example once."""
  w = registry.get(name)
  rng = jax.random.PRNGKey(0)
  it = w.input_iterator('train', rng, 16)
  run = [next(it) for _ in range(5)]
  resumed = w.input_iterator('train', rng, 16, start_step=3)
  for a in run[3:]:
    jax.tree.map(np.testing.assert_array_equal, a, next(resumed))
  other = next(w.input_iterator('train', jax.random.PRNGKey(1), 16))
  assert not all(jax.tree.leaves(jax.tree.map(np.array_equal, run[0], other)))
  for split, n in w.split_sizes().items():
    batches = list(w.input_iterator(split, rng, 100))
    assert len({jax.tree.map(np.shape, b).__repr__() for b in batches}) == 1
    if batches[0]['weights'].ndim == 1:  # one weight per example (graphs weigh their labels)
      assert sum(float(np.sum(b['weights'])) for b in batches) == n


def test_small_image_augmentation_shifts_within_one_pixel():
  from workloads.common import digits_images  # pylint: disable=g-import-not-at-top
  images = np.zeros((50, 16, 16, 1), np.float32)
  images[:, 7, 7] = 1.0
  shifted = digits_images.random_shift(images, 2, np.random.default_rng(0))
  positions = np.argwhere(shifted[..., 0] == 1)
  assert len(positions) == 50  # each image keeps its pixel
  assert np.all(np.abs(positions[:, 1:] - 7) <= 2)
  assert len({tuple(p) for p in positions[:, 1:]}) > 5


def test_phantom_eval_uses_one_mask_and_training_masks_vary():
  from workloads.fastmri import small  # pylint: disable=g-import-not-at-top
  data = small.load_splits()['validation']
  rows = small._reconstructed('validation', jax.random.PRNGKey(0))  # pylint: disable=protected-access
  train_rows = small._reconstructed('train', jax.random.PRNGKey(0))  # pylint: disable=protected-access
  from workloads.fastmri import phantoms  # pylint: disable=g-import-not-at-top
  mask = phantoms.column_masks(1, 64, np.random.default_rng(np.random.SeedSequence(0)))
  expected = phantoms.reconstruct({k: v[:4] for k, v in data.items()}, np.repeat(mask, 4, 0))
  np.testing.assert_allclose(rows['inputs'][:4], expected['inputs'], atol=1e-5)
  # a fully sampled training slice would equal its target; undersampled ones do not
  assert np.abs(train_rows['inputs'] - train_rows['targets']).mean() > 0.05
  assert mask.mean() == pytest.approx(0.25, abs=0.1)


_BASELINE_TRIAL = """
import json, sys
from pathlib import Path
from avgperf import runner, submission_loader, tuning
from configs import workloads as workload_configs
from workloads import registry
name, trial_dir = sys.argv[1], Path(sys.argv[2])
w, baseline = registry.get(name), submission_loader.load('baseline')
point = tuning.load_search_space(baseline.default_search_space)[0]
record = runner.run_trial(w, baseline, runner.TrialConfig(
    trial_dir=trial_dir, rng_seed=0, budget_sec=float('inf'),
    batch_size=baseline.get_batch_size(name), hyperparameters=point,
    max_global_steps=w.step_hint, checkpoint=False))
print(json.dumps({'status': record.status, 'global_step': record.global_step,
                  'final_metrics': record.final_metrics}))
"""


@pytest.mark.slow
@pytest.mark.parametrize('name', SMALL)
def test_baseline_reaches_the_small_target(name, tmp_path):
  """The baseline (first point of its search space) reaches the target within the step hint.

  Counted in steps, not seconds, so that the test holds on any machine however busy (the
  time budgets are calibrated by scripts/bench_small_workloads.py). In a fresh process, as a
  user's run is: TensorFlow's pipelines, loaded by earlier tests, slow XLA's CPU steps in the
  same process by about a third.
  """
  out = subprocess.run([sys.executable, '-c', _BASELINE_TRIAL, name, str(tmp_path)], cwd=REPO,
                       capture_output=True, text=True, timeout=1200)
  assert out.returncode == 0, out.stderr[-3000:]
  record = json.loads(out.stdout.strip().splitlines()[-1])
  assert record['status'] == 'reached_target', record
  workload = registry.get(name)
  assert record['global_step'] <= workload.step_hint
  assert workload.has_reached_validation_target(record['final_metrics'])  # <= for a loss
