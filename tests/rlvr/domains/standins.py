"""Local stand-ins for domain data: tiny images, a `save_to_disk` folder, JSONL + images."""

import io
import json

import datasets
from PIL import Image


def image_bytes(size=(40, 30), mode="RGB", color=128):
    """An encoded image: PNG, or JPEG for CMYK (PNG cannot hold CMYK)."""
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format="PNG" if mode != "CMYK" else "JPEG")
    return buffer.getvalue()


def mc_row(i, image=None):
    return {
        "image": image if image is not None else image_bytes(),
        "problem": f"Question {i} {{braces}}? A. yes B. no",
        "solution": "<answer> B </answer>",
    }


def save_disk_dataset(path, rows, *, split=None):
    """Rows with ``image`` as PNG bytes (or None) -> a ``save_to_disk`` folder at ``path``."""
    columns = {key: [row.get(key) for row in rows] for key in ("image", "problem", "solution")}
    columns["image"] = [{"bytes": b, "path": None} if b else None for b in columns["image"]]
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "problem": datasets.Value("string"),
            "solution": datasets.Value("string"),
        }
    )
    dataset = datasets.Dataset.from_dict(columns, features=features)
    if split is not None:
        dataset = datasets.DatasetDict({split: dataset})
    dataset.save_to_disk(str(path))
    return path


def write_jsonl(folder, rows):
    """Rows (dicts, ``image`` as bytes; or raw strings) -> ``folder/data.jsonl`` + images."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for i, row in enumerate(rows):
        if isinstance(row, str):  # a raw line, e.g. broken JSON
            lines.append(row)
            continue
        row = dict(row)
        if isinstance(row.get("image"), bytes):
            (images / f"{i}.png").write_bytes(row["image"])
            row["image"] = f"{i}.png"
        lines.append(json.dumps(row))
    (folder / "data.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "data.jsonl", images
