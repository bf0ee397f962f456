"""Write a local lmms-eval task (YAML, utils.py, parquet data) from a domain's test split.

    python scripts/lmms_local_task.py OUT_DIR [--domain synth_chart] [--limit 20]

The task is named ``mixopt_<domain>``; run it with ``--lmms-include-path OUT_DIR --lmms-task
mixopt_<domain>:accuracy`` (see docs/EVALUATION.md). Its prompt is the domain's prompt text
(lmms-eval's qwen2_vl adds the same default system prompt as the Qwen2-VL chat template), and
``process_results`` scores with the domain's ``accuracy_mc`` reward, as `mixopt eval` does:
nothing here needs the hub. Multiple-choice domains only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from datasets import Dataset, Features, Image, Value

from rlvr.domains import default_registry, load_records
from rlvr.domains.spec import TEST

UTILS = '''"""doc_to_* and process_results of a mixopt domain exported to lmms-eval."""

from rlvr.rewards.accuracy import accuracy_mc


def doc_to_visual(doc):
    return [doc["image"].convert("RGB")]


def doc_to_text(doc, lmms_eval_specific_kwargs=None):
    return doc["prompt"]


def process_results(doc, results):
    return {"accuracy": accuracy_mc([results[0]], [doc["solution"]])[0]}
'''

YAML = """task: {task}
dataset_path: parquet
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: generate_until
doc_to_visual: !function utils.doc_to_visual
doc_to_text: !function utils.doc_to_text
doc_to_target: solution
generation_kwargs:
  max_new_tokens: {max_new_tokens}
  temperature: 0
  do_sample: false
process_results: !function utils.process_results
metric_list:
  - metric: accuracy
    aggregation: mean
    higher_is_better: true
metadata:
  - version: 0.0
"""


def write_task(
    out_dir: Path, domain: str = "synth_chart", limit: int | None = None,
    max_new_tokens: int = 1024,
) -> str:
    """Write the task files under ``out_dir``; return the task name."""
    spec = default_registry(()).get(domain)
    records = list(load_records(spec, TEST, limit=limit))
    out_dir.mkdir(parents=True, exist_ok=True)
    data = (out_dir / f"{domain}_test.parquet").resolve()
    features = Features({"image": Image(), "prompt": Value("string"), "solution": Value("string")})
    Dataset.from_dict(
        {
            "image": [r.image for r in records],
            "prompt": [spec.prompt_text(r.problem) for r in records],
            "solution": [r.solution for r in records],
        },
        features=features,
    ).to_parquet(str(data))
    task = f"mixopt_{domain}"
    (out_dir / "utils.py").write_text(UTILS, encoding="utf-8")
    (out_dir / f"{task}.yaml").write_text(
        YAML.format(task=task, data=data, max_new_tokens=max_new_tokens), encoding="utf-8"
    )
    return task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--domain", default="synth_chart")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--max-new-tokens", type=int, default=1024)
    args = parser.parse_args()
    print(write_task(args.out_dir, args.domain, args.limit, args.max_new_tokens))


if __name__ == "__main__":
    main()
