"""What the WSGI entry point does before the first request: everything start-up builds is
built, then frozen out of the garbage collector's sight (`agent33_site/serving.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
import agent33_site.wsgi
frozen, young = gc.get_freeze_count(), len(gc.get_objects())
before = set(sys.modules)
from django.urls import get_resolver
get_resolver().url_patterns  # what the first request would import
from agent33_core.registry import services
services.build_all()  # what the first use of each app would build
print(json.dumps({"imported_later": sorted(set(sys.modules) - before), "frozen": frozen,
                  "young": young, "scipy": "scipy" in before, "pillow": "PIL.Image" in before}))
"""


def test_the_entry_point_imports_and_builds_everything_before_it_freezes():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "agent33_site.settings", "DJANGO_DEBUG": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    # The views (and scipy, for the experiments) and the multimodal adapters (Pillow) were
    # loaded before the freeze: the first requests import nothing more.
    assert probe["imported_later"] == []
    assert probe["scipy"] and probe["pillow"]
    # Frozen, start-up's objects are no longer the collector's: what is left is a sliver.
    assert probe["frozen"] > 100_000
    assert probe["young"] < probe["frozen"] / 20, probe
