"""Schedule-Free AdamW (as `schedule_free_adamw`) with batch-norm statistics recomputed at
the evaluated point x before each eval, over 50 training batches, as the reference README
recommends (facebookresearch/schedule_free, README.md, "Caveats": about 50 batches of
forward passes at x).

Hyperparameters: those of `schedule_free_adamw`.
Batch-norm statistics: recomputed for x by `OptaxSubmission(recompute_batch_stats=50)`: the
plain mean of the statistics of 50 training batches at x (PreciseBN-style; the README's
loop instead runs the forward passes with the layers' momentum), timed as part of the eval's
preparation; the training statistics (at y) are left as they are. A no-op on models without
batch norm.
Scoring reads `validation/<metric>`: the average x, with its recomputed statistics.
Search space: configs/search_spaces/schedule_free_adamw_bn.json (the same points as
schedule_free_adamw's).
"""

from configs.submissions import default_point
from submissions import schedule_free_adamw
from submissions.common.optax_submission import OptaxSubmission

BATCH_STATS_BATCHES = 50

SUBMISSION = OptaxSubmission(
    make_tx=schedule_free_adamw.make_tx, recompute_batch_stats=BATCH_STATS_BATCHES,
    self_tuning_hyperparameters=default_point('schedule_free_adamw_bn'))
