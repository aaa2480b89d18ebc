"""OptaxSubmission's train step on batches that carry example weights."""

import jax
import numpy as np
import optax

from avgperf import tuning
from submissions.common.optax_submission import OptaxSubmission
from workloads.digits.workload import DigitsWorkload


def _step(weights):
  workload = DigitsWorkload()
  sub = OptaxSubmission(make_tx=lambda w, h: optax.sgd(0.1))
  h = tuning.make_hyperparameters({})
  params, model_state = workload.init_model_fn(jax.random.PRNGKey(0))
  before = jax.device_get(params)
  batch = next(workload.input_iterator('train', jax.random.PRNGKey(1), 8))
  batch = {**batch, 'weights': np.asarray(weights, np.float32)}
  opt_state = sub.init_optimizer_state(workload, params, model_state, h, None)
  _, params, _ = sub.update_params(workload, params, None, model_state, h, batch, None,
                                   opt_state, [], 0, jax.random.PRNGKey(2))
  return before, jax.device_get(params)


def test_a_batch_with_no_weight_leaves_the_params_unchanged():
  before, after = _step([0.0] * 8)
  jax.tree.map(np.testing.assert_array_equal, before, after)


def test_weights_select_the_examples_that_count():
  _, one_example = _step([0, 0, 1, 0, 0, 0, 0, 0])
  _, doubled = _step([0, 0, 2, 0, 0, 0, 0, 0])  # a weighted mean: the scale cancels
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
               one_example, doubled)
  _, all_examples = _step([1.0] * 8)
  assert not np.allclose(jax.tree.leaves(one_example)[0], jax.tree.leaves(all_examples)[0])
