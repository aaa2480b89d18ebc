"""The baseline, except that the process kills itself with SIGKILL once, at the step named by
AVGPERF_TEST_KILL_AT_STEP (a marker file beside this trial's logs records that it did)."""

import os
import signal
from pathlib import Path

from submissions.baseline import SUBMISSION as baseline

get_batch_size = baseline.get_batch_size
init_optimizer_state = baseline.init_optimizer_state
prepare_for_eval = baseline.prepare_for_eval
data_selection = baseline.data_selection


def update_params(workload, current_param_container, current_params_types, model_state,
                  hyperparameters, batch, loss_type, optimizer_state, eval_results, global_step,
                  rng, train_state=None):
  marker = Path(os.environ['AVGPERF_TEST_KILL_MARKER'])
  if global_step == int(os.environ['AVGPERF_TEST_KILL_AT_STEP']) and not marker.exists():
    marker.touch()
    os.kill(os.getpid(), signal.SIGKILL)
  return baseline.update_params(workload, current_param_container, current_params_types,
                                model_state, hyperparameters, batch, loss_type, optimizer_state,
                                eval_results, global_step, rng, train_state)
