"""Optimizers that optax lacks in the exact form the benchmarks use, among them those whose
output is an average (Schedule-Free, periodic SWA, TWA, cooldown branches): each returns an
`averagers.AveragedTransformation` that says which params an eval sees.
"""

from submissions.optimizers._cooldown_branches import BranchesState, branch_name
from submissions.optimizers._cooldown_branches import cooldown_branches
from submissions.optimizers._nadamw import nadamw, scale_by_nadam
from submissions.optimizers._pswa import PswaState, is_restart, periodic_swa
from submissions.optimizers._schedule_free import ScheduleFreeAdamWState, schedule_free_adamw
from submissions.optimizers._twa import TwaState, quantize, trainable_weight_averaging
from submissions.optimizers._twa import twa_coefficient_schedule
from submissions.optimizers._twa_conference import TwaConferenceState
from submissions.optimizers._twa_conference import trainable_weight_averaging_conference
from submissions.optimizers._twa_holdout import HeldOutBatches, holdout_mask, training_rows

__all__ = [
    'BranchesState', 'HeldOutBatches', 'PswaState', 'ScheduleFreeAdamWState',
    'TwaConferenceState', 'TwaState', 'branch_name', 'cooldown_branches', 'holdout_mask',
    'is_restart', 'nadamw', 'periodic_swa', 'quantize', 'scale_by_nadam', 'schedule_free_adamw',
    'trainable_weight_averaging', 'trainable_weight_averaging_conference', 'training_rows',
    'twa_coefficient_schedule',
]
