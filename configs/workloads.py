"""Targets, budgets and step hints of every workload, per rules version.

Read by the workloads (their class attributes) and by scoring (which never imports a model).
Sources: AlgoPerf's workload definitions (v0.6: after the budget change of 2025-02-03; v0.5:
the values of the first competition, with its held-out variants' targets).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class WorkloadFacts:
  """What a workload is scored by."""

  metric: str  # the validation column is f'validation/{metric}'
  mode: str  # 'max' or 'min'
  validation_target: float
  test_target: float | None
  max_runtime_sec: float
  step_hint: int
  eval_period_sec: float
  batch_size: int  # the global batch size of the baseline (AlgoPerf's NAdamW, or ours)
  base: str | None = None  # for a held-out variant, the base workload it replaces


_F = WorkloadFacts

# AlgoPerf v0.6 (the current rules): eight base workloads.
V06: dict[str, WorkloadFacts] = {
    'criteo1tb': _F('loss', 'min', 0.123735, 0.126041, 7_703, 10_666, 120, 262_144),
    'fastmri': _F('ssim', 'max', 0.723653, 0.740633, 4_430, 18_094, 80, 32),
    'imagenet_resnet': _F('accuracy', 'max', 0.77431, 0.6560, 66_159, 195_999, 510, 1_024),
    'imagenet_vit': _F('accuracy', 'max', 0.77309, 0.6519, 69_768, 167_999, 420, 1_024),
    'librispeech_conformer': _F('wer', 'min', 0.085884, 0.052981, 58_015, 76_000, 1_440, 256),
    'librispeech_deepspeech': _F('wer', 'min', 0.119936, 0.074143, 44_405, 38_400, 1_440, 256),
    'ogbg': _F('mean_average_precision', 'max', 0.28098, 0.268729, 12_011, 52_000, 240, 512),
    'wmt': _F('bleu', 'max', 30.8491, 30.7219, 43_336, 120_000, 840, 128),
    'finewebedu_lm': _F('ppl', 'min', 22.432, None, 31_967, 72_000, 2_571, 64),
}

# AlgoPerf v0.5 (the first competition): budgets and step hints before 2025-02-03, and the
# six held-out variants that were sampled for it (scored against their own targets).
V05: dict[str, WorkloadFacts] = {
    'criteo1tb': _F('loss', 'min', 0.123735, 0.126041, 7_703, 10_666, 120, 262_144),
    'fastmri': _F('ssim', 'max', 0.723653, 0.740633, 8_859, 36_189, 80, 32),
    'imagenet_resnet': _F('accuracy', 'max', 0.77431, 0.6560, 63_008, 186_666, 510, 1_024),
    'imagenet_vit': _F('accuracy', 'max', 0.77309, 0.6519, 77_520, 186_666, 420, 1_024),
    'librispeech_conformer': _F('wer', 'min', 0.085884, 0.052981, 61_068, 80_000, 1_440, 256),
    'librispeech_deepspeech': _F('wer', 'min', 0.119936, 0.074143, 55_506, 48_000, 1_440, 256),
    'ogbg': _F('mean_average_precision', 'max', 0.28098, 0.268729, 18_477, 80_000, 240, 512),
    'wmt': _F('bleu', 'max', 30.8491, 30.7219, 48_151, 133_333, 840, 128),
    'criteo1tb_embed_init': _F('loss', 'min', 0.129657, None, 7_703, 10_666, 120, 262_144,
                               base='criteo1tb'),
    'fastmri_tanh': _F('ssim', 'max', 0.71784, None, 8_859, 36_189, 80, 32, base='fastmri'),
    'imagenet_resnet_large_bn_init': _F('accuracy', 'max', 0.76526, None, 63_008, 186_666, 510,
                                        1_024, base='imagenet_resnet'),
    'librispeech_conformer_layernorm': _F('wer', 'min', 0.09731, None, 61_068, 80_000, 1_440,
                                          256, base='librispeech_conformer'),
    'ogbg_model_size': _F('mean_average_precision', 'max', 0.269446, None, 18_477, 80_000, 240, 512,
                          base='ogbg'),
    'wmt_glu_tanh': _F('bleu', 'max', 29.5779, None, 48_151, 133_333, 840, 128, base='wmt'),
}

# Workloads of this project that run on 2 CPU cores on data that needs no download: their
# metric, its direction, eval period (s) and batch size here; their targets, budgets and step
# hints in small_targets.json, set by `scripts/set_targets.py` from repeated runs of the
# baseline (the file records what was measured, on which machine).
SMALL_TARGETS = Path(__file__).with_name('small_targets.json')
_SMALL_STATIC = {
    'digits': ('accuracy', 'max', 0.1, 64),
    'imagenet_resnet_small': ('accuracy', 'max', 3, 64),
    'imagenet_vit_small': ('accuracy', 'max', 2, 32),
    'fastmri_small': ('ssim', 'max', 4, 8),
    'ogbg_small': ('mean_average_precision', 'max', 4, 32),
    'librispeech_conformer_small': ('wer', 'min', 2, 8),
    'criteo1tb_small': ('loss', 'min', 3, 1_024),
}


def _small_workloads() -> dict[str, WorkloadFacts]:
  calibrated = json.loads(SMALL_TARGETS.read_text())
  missing = sorted(set(_SMALL_STATIC) - set(calibrated))
  if missing:
    raise ValueError(f'{SMALL_TARGETS.name} lacks {", ".join(missing)}: run '
                     f'scripts/set_targets.py --workloads={",".join(missing)}')
  return {name: _F(metric, mode, calibrated[name]['validation_target'],
                   calibrated[name]['test_target'], calibrated[name]['max_runtime_sec'],
                   calibrated[name]['step_hint'], eval_period, batch_size)
          for name, (metric, mode, eval_period, batch_size) in _SMALL_STATIC.items()}


SMALL: dict[str, WorkloadFacts] = _small_workloads()

RULES = {'v0.5': V05, 'v0.6': V06}

# The base workloads each leaderboard was scored on (v0.6: as its leaderboard of March 2025,
# before finewebedu_lm was added).
SCORED_BASE_WORKLOADS = {
    'v0.5': ('criteo1tb', 'fastmri', 'imagenet_resnet', 'imagenet_vit', 'librispeech_conformer',
             'librispeech_deepspeech', 'ogbg', 'wmt'),
    'v0.6': ('criteo1tb', 'fastmri', 'imagenet_resnet', 'imagenet_vit', 'librispeech_conformer',
             'librispeech_deepspeech', 'ogbg', 'wmt'),
}


class MissingFactsError(KeyError):
  """A workload has no facts under the rules asked for (args[0] says which file to edit)."""


# Facts of workloads from outside this repository, registered by this process
# (`workloads.common.facts.with_facts`); the same under every rules version.
_REGISTERED: dict[str, WorkloadFacts] = {}


def register(workload: str, workload_facts: WorkloadFacts) -> None:
  """Makes `facts(workload)` return `workload_facts` in this process."""
  if workload in {**V06, **V05, **SMALL}:
    raise ValueError(f'workload {workload!r} already has facts in configs/workloads.py')
  _REGISTERED[workload] = workload_facts


def facts(workload: str, rules: str = 'v0.6') -> WorkloadFacts:
  """The facts of `workload` under `rules`; small workloads are the same under every version."""
  table = {**RULES[rules], **SMALL, **_REGISTERED}
  if workload not in table:
    raise MissingFactsError(
        f'workload {workload!r} has no facts under rules {rules}: add its targets, budget, '
        f'step hint and batch size to configs/workloads.py')
  return table[workload]


def baseline_batch_size(workload: str) -> int:
  """The global batch size AlgoPerf's baseline (or, for a small workload, ours) uses."""
  return facts(workload).batch_size
