from PIL import Image
from trl.data_utils import is_conversational, prepare_multimodal_messages

from rlvr.domains import IMAGE_COLUMN, Record, default_registry, to_conversation

RECORD = Record(
    image=Image.new("RGB", (28, 28)),
    problem="Which box {x}? A. [{'Position': [1, 2, 3, 4]}] B. none",
    solution="<answer>A</answer>",
)


def test_multiple_choice_row():
    spec = default_registry().get("sat")
    row = to_conversation(RECORD, spec)
    assert set(row) == {"prompt", IMAGE_COLUMN, "solution", "domain"}
    assert IMAGE_COLUMN == "image"
    assert row["image"] is RECORD.image
    assert row["solution"] == "<answer>A</answer>" and row["domain"] == "sat"
    (user,) = row["prompt"]
    assert user["role"] == "user"
    assert user["content"][0] == {"type": "image"}
    assert user["content"][1] == {"type": "text", "text": spec.prompt_text(RECORD.problem)}
    assert user["content"][1]["text"].startswith(RECORD.problem + "  Output the thinking")


def test_system_prompt_comes_first():
    spec = default_registry().get("lisa").model_copy(update={"system_prompt": "Be brief."})
    system, user = to_conversation(RECORD, spec)["prompt"]
    assert system == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert user["content"][1]["text"] == RECORD.problem  # lisa: the problem as it is


def test_trl_fills_the_image_placeholder():
    row = to_conversation(RECORD, default_registry().get("coco"))
    assert is_conversational(row)
    filled = prepare_multimodal_messages(row["prompt"], images=[row["image"]])
    assert filled[0]["content"][0] == {"type": "image", "image": RECORD.image}
    assert "image" not in row["prompt"][0]["content"][0]  # the row itself is untouched
