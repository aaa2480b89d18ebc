"""Suites: the workloads x submissions x studies x trials that one `avgperf suite` runs.

A suite's trials go to `<experiment_dir>/<submission>/study_<s>/<workload>_jax/trial_<k>/`,
the layout `avgperf score` reads.
"""

from __future__ import annotations

import dataclasses

from configs import workloads as workload_configs

# The submissions a suite compares by default: the baseline and the main averaging methods.
MAIN_SUBMISSIONS = ('baseline', 'nadamw_ema', 'nadamw_lawa', 'schedule_free_adamw')
# Those that test the literature's claims (scripts/results_small.py): averaging with decay
# (EMA, LAWA), WSD against cosine, TWA against SWA, schedule-free against cosine.
CLAIM_SUBMISSIONS = ('baseline', 'nadamw_ema', 'nadamw_lawa', 'wsd', 'nadamw_swa',
                     'nadamw_twa', 'schedule_free_adamw')


@dataclasses.dataclass(frozen=True)
class Suite:
  """What a suite runs.

  Attributes:
    name: how `--suite` names it.
    description: one line for `avgperf suite --help` and `avgperf list`.
    workloads: registered workload names.
    submissions: submission names (`--submissions` overrides them).
    num_studies: studies per (workload, submission) (`--num_studies` overrides it).
    num_tuning_trials: trials per study, drawn from each submission's search space.
    rules: the rules version scoring applies.
  """

  name: str
  description: str
  workloads: tuple[str, ...]
  submissions: tuple[str, ...] = MAIN_SUBMISSIONS
  num_studies: int = 1
  num_tuning_trials: int = 1
  rules: str = 'v0.6'


SUITES: dict[str, Suite] = {s.name: s for s in (
    Suite('quick', 'the digits workload: a look at the whole pipeline in under a minute on '
          'two CPU cores', workloads=('digits',)),
    Suite('small', 'every small workload (data that needs no download), sized for two CPU '
          "cores, with the submissions that test the literature's claims",
          workloads=tuple(sorted(workload_configs.SMALL)), submissions=CLAIM_SUBMISSIONS,
          num_studies=3),
    Suite('algoperf', "AlgoPerf's full-size workloads, for machines with accelerators and "
          'the datasets (--data_dir)', workloads=tuple(
              w for w in workload_configs.SCORED_BASE_WORKLOADS['v0.6']
              if w not in ('wmt', 'librispeech_deepspeech')) + ('finewebedu_lm',),
          num_studies=3, num_tuning_trials=5),
)}


def get(name: str) -> Suite:
  """The suite `name`; KeyError names the known ones."""
  if name not in SUITES:
    raise KeyError(f'unknown suite {name!r}; known: {", ".join(SUITES)}')
  return SUITES[name]
