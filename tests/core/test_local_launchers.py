"""Two local launchers on one sweep (`avgperf suite --workers=2` and a second `avgperf suite`
on the same folder, three processes in all): the trial locks let each trial run once, and
the sweep ends as one worker's: the same evals, the same scores."""

import re

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
