"""Saves killed with SIGKILL at random moments: the previous artifact stays whole, the next save leaves no debris,
and a readable .json copy never describes another file for long (it names its file's SHA-256; a load repairs it)."""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

SAVER = r"""
import sys, torch
from l2vkit.concepts import ConceptBank
from l2vkit.pairs import ContrastPair
path, i = sys.argv[1], 0
pair = ContrastPair("red", "blue", "colour", "attribute")
while True:
    i += 1
    ConceptBank({pair.name: torch.full((512, 1024), float(i))}, {pair.name: pair}, {"i": i}).save(path)
"""


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.integration
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_twenty_kills_during_saves_leave_whole_artifacts_and_no_debris(tmp_path):
    from l2vkit.concepts import ConceptBank

    path = tmp_path / "bank.safetensors"
    rng = random.Random(0)
    for kill in range(20):
        saver = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], env={**os.environ, "OMP_NUM_THREADS": "1"})
        deadline = time.time() + 60
        while not path.exists() and time.time() < deadline:  # the first kill lands after at least one save
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 0.4))
        saver.send_signal(signal.SIGKILL)
        saver.wait()
        sidecar = path.with_suffix(".json")
        described = json.loads(sidecar.read_text())["describes"] if sidecar.exists() else None
        if described is not None and described["sha256"] != _sha(path):
            assert sidecar.stat().st_mtime <= path.stat().st_mtime  # a lagging copy: older than its file
        bank = ConceptBank.load(path)  # whole, whichever save it is
        value = float(bank["red->blue"][0, 0])
        assert bool((bank["red->blue"] == value).all()) and bank.meta["i"] == int(value)
        assert json.loads(sidecar.read_text())["describes"]["sha256"] == _sha(path)  # the load repaired it
    bank.save(path)  # the next save clears what killed saves left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.json", "bank.safetensors"]
