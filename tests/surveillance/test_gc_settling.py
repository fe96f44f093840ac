"""`settle_gc`: the long-running processes' garbage-collector tuning (README, "Performance")."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests import ROOT


@pytest.mark.process
def test_settling_freezes_what_has_started_and_collects_the_young_less_often() -> None:
    # In a process of its own: the collector's settings are the whole process's.
    script = textwrap.dedent(
        """
        import gc
        from surveillance import GC_THRESHOLDS, settle_gc

        assert gc.get_freeze_count() == 0
        settle_gc()
        assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()
        assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()
        assert GC_THRESHOLDS[0] > 700  # the default it replaces
        # Garbage made after settling is still collected: a reference cycle goes.
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        import weakref
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
