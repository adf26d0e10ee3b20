"""Saves killed with SIGKILL at random moments: the previous artifact stays whole, the next save leaves no debris,
and a readable .json copy names the SHA-256 of the file it describes (so a stale one shows it; the next save fixes it)."""
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
    rng, stale = random.Random(0), 0
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
        stale += described is None or described["sha256"] != _sha(path)  # the copy says so itself
        bank = ConceptBank.load(path)  # whole, whichever save it is
        value = float(bank["red->blue"][0, 0])
        assert bool((bank["red->blue"] == value).all()) and bank.meta["i"] == int(value)
    bank.save(path)  # the next save clears what killed saves left and writes a matching copy
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bank.json", "bank.safetensors"]
    assert json.loads(path.with_suffix(".json").read_text())["describes"]["sha256"] == _sha(path)
    print(f"{stale} of 20 kills left a copy naming another file's SHA-256")
