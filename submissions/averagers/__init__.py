"""Weight averagers in optax's shape, and the wrappers that attach them to any optax
transformation. An averager is `Averager(init, update, result)` over param pytrees, its state
in float32 outside the optimizer's (see `_base` for the protocol); a new one is a file here
and a line below.

>>> import optax
>>> from submissions import averagers
>>> tx = averagers.with_averages(optax.adam(1e-3), {'ema_0.99': averagers.ema(0.99),
...                                                 'lawa_20': averagers.lawa(20, 64)})
"""

from submissions.averagers._base import AveragedTransformation, Averager, gate
from submissions.averagers._batch_norm import recompute_batch_stats
from submissions.averagers._ema import EmaState, ema, ema_decay
from submissions.averagers._lawa import LawaState, lawa
from submissions.averagers._swa import SwaState, swa
from submissions.averagers._windowed_swa import WindowedSwaState, windowed_swa
from submissions.averagers._wrappers import WithAverageState, WithAveragesState
from submissions.averagers._wrappers import with_average, with_averages

__all__ = [
    'AveragedTransformation', 'Averager', 'EmaState', 'LawaState', 'SwaState',
    'WindowedSwaState', 'WithAverageState', 'WithAveragesState', 'ema', 'ema_decay', 'gate',
    'lawa', 'recompute_batch_stats', 'swa', 'windowed_swa', 'with_average', 'with_averages',
]
