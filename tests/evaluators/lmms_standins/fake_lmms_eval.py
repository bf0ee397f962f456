"""A stand-in for ``python -m lmms_eval``: parses its real flags and writes a results file in
its real layout (the fixture's content, cut to the tasks asked for).

``FAKE_LMMS_MODE``: ``ok`` (default); ``fail`` (traceback on stderr, exit 1); ``silent``
(error on stderr, exit 0, no file: what lmms-eval does); ``drop:<task>`` (leave a task out).
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "assets/lmms_eval_output/ckpt__checkpoint-400/20250611_101512_results.json"
)


def main() -> int:
    parser = argparse.ArgumentParser()
    for flag in ("--model", "--model_args", "--tasks", "--batch_size", "--output_path", "--limit"):
        parser.add_argument(flag)
    parser.add_argument("--log_samples", action="store_true")
    args = parser.parse_args()
    mode = os.environ.get("FAKE_LMMS_MODE", "ok")
    if mode == "fail":
        print("Traceback (most recent call last):", file=sys.stderr)
        print("RuntimeError: CUDA out of memory", file=sys.stderr)
        return 1
    if mode == "silent":
        print("Error during evaluation: Tasks not found: nope.", file=sys.stderr)
        return 0
    tasks = args.tasks.split(",")
    if mode.startswith("drop:"):
        tasks.remove(mode.split(":", 1)[1])
    data = json.loads(FIXTURE.read_text())
    for key in ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples"):
        data[key] = {t: v for t, v in data[key].items() if t in tasks}
    data["group_subtasks"] = {t: [] for t in tasks}
    name = dict(a.split("=", 1) for a in args.model_args.split(","))["pretrained"]
    sanitized = re.sub(r"[\"<>:/\|\\?\*\[\]]+", "__", "/".join(name.split("/")[-2:]))
    data.update(model_source=args.model, model_name=name, model_name_sanitized=sanitized)
    data["config"].update(model=args.model, model_args=args.model_args)
    if args.limit:
        for counts in data["n-samples"].values():
            counts["effective"] = min(int(float(args.limit)), counts["original"])
    folder = Path(args.output_path) / sanitized
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "20250611_101512_results.json").write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
