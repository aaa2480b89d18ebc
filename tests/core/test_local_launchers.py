"""Two local launchers on one sweep (`avgperf suite --workers=2` and a second `avgperf suite`
on the same folder, three processes in all): the trial locks let each trial run once, and
the sweep ends as one worker's: the same evals, the same scores."""

import dataclasses
import re

import pytest

from avgperf import suite
from avgperf import trial_files
from avgperf.errors import UsageError
from tests.core import launchers


def test_two_local_launchers_run_every_trial_once(tmp_path, one_worker_sweep):
  folder = tmp_path / 'sweep'
  first = launchers.start(folder, '--workers=2')
  second = launchers.start(folder)
  out = launchers.finish(first) + launchers.finish(second)

  trials = launchers.trial_dirs(folder)
  for trial_dir in trials:
    name = str(trial_dir.relative_to(folder))
    # Run by one process (each worker reports the trials it ran), from its start to its end:
    # a second run would have resumed it (a preemption) or reported it again.
    assert len(re.findall(rf'^{re.escape(name)}: reached_target', out, re.MULTILINE)) == 1, out
    assert {row['preemption_count'] for row in launchers.rows(trial_dir)} == {0}, name
  # The launchers met: some worker found a trial another one held.
  assert 'held by another worker' in out, out
  assert launchers.outcome(folder) == launchers.outcome(one_worker_sweep)


def test_pending_counts_a_trial_stopped_by_a_lower_step_limit(tmp_path):
  """As `avgperf run --resume`: raising --max_global_steps makes such a trial pending again."""
  def pending(max_global_steps):
    run = dataclasses.replace(launchers.suite_run(tmp_path), max_global_steps=max_global_steps)
    return [str(task) for task in suite.pending(run)]

  first, *others = launchers.trial_dirs(tmp_path)
  for trial_dir, status in [(first, 'max_steps')] + [(d, 'reached_target') for d in others]:
    trial_dir.mkdir(parents=True)
    trial_files.write_status(trial_dir, status)
    trial_files.EvalLog(trial_dir / trial_files.EVAL_MEASUREMENTS).append(
        {'global_step': 50, 'preemption_count': 0})
  name = str(first.relative_to(tmp_path))
  assert pending(50) == [] and pending(20) == []
  assert pending(51) == [name] and pending(None) == [name]


def test_workloads_pick_some_of_the_suite_in_the_order_given(tmp_path):
  run = suite.make_run('small', tmp_path, ['baseline'], 1,
                       workloads=['ogbg_small', 'digits', 'ogbg_small'])
  assert [t.workload for t in suite.tasks(run)] == ['ogbg_small', 'digits']
  assert [t.workload for t in suite.tasks(suite.make_run('small', tmp_path, ['baseline'], 1))
          ] == list(suite.suite_configs.get('small').workloads)
  with pytest.raises(UsageError, match="suite quick has no workload ogbg_small"):
    suite.make_run('quick', tmp_path, workloads=['ogbg_small'])
