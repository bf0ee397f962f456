"""Build the demo's base model (the default warm-start recipe, seed 0) here and ship it.

    .venv/bin/python scripts/build_demo_base.py      # ~8 min on 2 idle CPU cores

Trains with `rlvr.models.warm_start.ensure_warm_started` (never from the shipped copy), then
replaces the folders under `rlvr.models.warm_start.PREBUILT_DIR` with the new build and prints
its folder, the SHA-256 of its weights and the build's wall time. Run it after any change to
the default recipe, the tiny model's recipe or the synthetic generators (their versions are in
the recipe's hash); tests/rlvr/models/test_prebuilt_base.py fails until then.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

from rlvr.models.warm_start import PREBUILT_DIR, STATS_FILE, WarmStartRecipe, ensure_warm_started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="demo-base-") as tmp:
        built = ensure_warm_started(Path(tmp), seed=0, recipe=WarmStartRecipe(), prebuilt=None)
        if PREBUILT_DIR.exists():
            shutil.rmtree(PREBUILT_DIR)
        PREBUILT_DIR.mkdir(parents=True)
        target = PREBUILT_DIR / built.name
        shutil.copytree(built, target)
    digest = hashlib.sha256((target / "model.safetensors").read_bytes()).hexdigest()
    stats = json.loads((target / STATS_FILE).read_text(encoding="utf-8"))
    print(f"shipped {target}\nmodel.safetensors sha256 {digest}\nbuild stats {stats}")


if __name__ == "__main__":
    main()
