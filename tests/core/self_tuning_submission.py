"""A self-tuning submission: the baseline with its hyperparameters fixed inside the module."""

from avgperf import tuning
from submissions.baseline import SUBMISSION as baseline

DEFAULTS = tuning.make_hyperparameters({
    'learning_rate': 0.0013, 'one_minus_beta1': 0.027, 'beta2': 0.998, 'weight_decay': 0.16,
    'warmup_factor': 0.1, 'label_smoothing': 0.1, 'dropout_rate': 0.0})

get_batch_size = baseline.get_batch_size
data_selection = baseline.data_selection


def init_optimizer_state(workload, model_params, model_state, hyperparameters, rng):
  assert hyperparameters is None
  return baseline.init_optimizer_state(workload, model_params, model_state, DEFAULTS, rng)


def update_params(workload, current_param_container, current_params_types, model_state,
                  hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
                  rng, train_state=None):
  return baseline.update_params(workload, current_param_container, current_params_types,
                                model_state, DEFAULTS, batch, loss_type, optimizer_state,
                                eval_results, global_step, rng, train_state)
