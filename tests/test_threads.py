"""The thread policy (l2vkit.threads): one intra-op thread once the toy world loads, L2VKIT_THREADS and
OMP_NUM_THREADS respected, bad values refused, and `l2vkit env` saying what is in force."""
import os
import subprocess
import sys

import pytest

CHILD = ("import torch; from l2vkit import toyworld as tw; from l2vkit.threads import describe; "
         "tw.load_generator(); print(torch.get_num_threads(), describe())")


def _run(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("L2VKIT_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    out = subprocess.run([sys.executable, "-c", CHILD], env={**base, **env}, capture_output=True, text=True)
    return out.returncode, out.stdout.strip(), out.stderr


@pytest.mark.integration
def test_toy_world_runs_on_one_thread_unless_told_otherwise():
    code, out, _ = _run()
    assert code == 0 and out.startswith("1 1 (1 for the toy world's small models; L2VKIT_THREADS=N sets N)"), out
    code, out, _ = _run(L2VKIT_THREADS="2")
    assert code == 0 and out.startswith("2 2 (L2VKIT_THREADS=2)"), out
    code, out, _ = _run(OMP_NUM_THREADS="2")
    assert code == 0 and out.startswith("2 2 (OMP_NUM_THREADS, kept)"), out
    code, out, _ = _run(OMP_WAIT_POLICY="PASSIVE")
    assert code == 0 and out.endswith("; OMP_WAIT_POLICY=PASSIVE"), out
    code, _, err = _run(L2VKIT_THREADS="two")
    assert code != 0 and "L2VKIT_THREADS='two': give a positive whole number of threads" in err


@pytest.mark.unit
def test_requested_threads(monkeypatch):
    from l2vkit import threads

    monkeypatch.delenv("L2VKIT_THREADS", raising=False)
    assert threads.requested() is None
    monkeypatch.setenv("L2VKIT_THREADS", "3")
    assert threads.requested() == 3
    monkeypatch.setenv("L2VKIT_THREADS", "0")
    with pytest.raises(ValueError, match="L2VKIT_THREADS='0'"):
        threads.requested()
