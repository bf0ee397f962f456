"""How the installed lmms-eval extracts MathVista answers: by rules or with an LLM judge.

``mathvista_testmini`` calls ``mathvista_process_results`` in
``lmms_eval/tasks/mathvista/utils.py``. Recent lmms-eval versions normalize the answer there
with rules (``normalize_extracted_answer_with_math_verify``: option letters, math-verify for
numbers; no API key); older ones call ``MathVistaEvaluator.extract_answer``, which asks a GPT
model (``quick_extract`` only catches ``The answer is "..."``). The mode is read from that
source file, since it differs between versions and no setting switches it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from evaluators.lmms.errors import MathVistaExtractionError

Extraction = Literal["rule", "judge"]
EXTRACTIONS: tuple[Extraction, ...] = ("rule", "judge")
UTILS = Path("tasks") / "mathvista" / "utils.py"
_FUNCTION = re.compile(r"^def mathvista_process_results\(.*?(?=^def |\Z)", re.M | re.S)


def installed_extraction(lmms_eval_root: str | Path) -> Extraction | None:
    """``rule`` or ``judge`` for the lmms-eval package at ``lmms_eval_root``; None when its
    ``mathvista_process_results`` cannot be found or read."""
    try:
        source = (Path(lmms_eval_root) / UTILS).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = _FUNCTION.search(source)
    if match is None:
        return None
    code = "\n".join(
        line for line in match.group(0).splitlines() if not line.lstrip().startswith("#")
    )
    if ".extract_answer(" in code:
        return "judge"
    if "with_math_verify(" in code:
        return "rule"
    return None


def check_extraction(wanted: Extraction, lmms_eval_root: str | Path) -> None:
    """Raise unless the installed lmms-eval scores MathVista the ``wanted`` way.

    Raises:
        MathVistaExtractionError: an unknown mode, or one the installed version does not use.
    """
    if wanted not in EXTRACTIONS:
        raise MathVistaExtractionError(
            f"unknown MathVista extraction {wanted!r}; choose {', '.join(EXTRACTIONS)}"
        )
    found = installed_extraction(lmms_eval_root)
    if found == wanted:
        return
    where = Path(lmms_eval_root) / UTILS
    if found is None:
        raise MathVistaExtractionError(
            f"cannot tell how {where} extracts MathVista answers; refusing to run mathvista "
            f"with extraction {wanted!r}"
        )
    if wanted == "rule":
        raise MathVistaExtractionError(
            f"the installed lmms-eval ({where}) extracts MathVista answers with a GPT judge "
            "(needs OPENAI_API_KEY); upgrade lmms-eval to a version with rule-based "
            "extraction, or choose extraction 'judge'"
        )
    raise MathVistaExtractionError(
        f"the installed lmms-eval ({where}) extracts MathVista answers by rules; it has no "
        "judge mode for mathvista_testmini; choose extraction 'rule'"
    )
