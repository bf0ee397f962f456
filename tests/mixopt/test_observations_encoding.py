"""CSV files as spreadsheet programs write them: a byte-order mark, semicolons (issue 15 item 9)."""

import numpy as np
import pytest

from mixopt import ObservationError
from mixopt.bench.oracles import _csv_columns
from mixopt.observations import read_csv

TEXT = "w.coco,w.lisa,w.sat,out_score\n0.5,0.5,0,0.41\n0.2,0.3,0.5,0.44\n0.3,0,0.7,0.4\n"


def test_a_byte_order_mark_keeps_the_first_domain(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode())
    obs = read_csv(path, ["out_score"])
    assert obs.space.domains == ("coco", "lisa", "sat")
    np.testing.assert_allclose(obs.X[1], [0.2, 0.3, 0.5])
    normalized = read_csv(path, ["out_score"], normalize=True)  # the domain was dropped here
    assert normalized.space.domains == ("coco", "lisa", "sat")
    assert _csv_columns(path)[0] == "w.coco"  # the bench's csv: oracle reads the header too


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_another_separator_is_named_in_one_line(tmp_path, separator, name):
    path = tmp_path / "obs.csv"
    header, *rows = TEXT.replace(",", separator).splitlines()
    path.write_text("\n".join([header, *(r.replace(".", ",") for r in rows)]))  # decimal commas
    with pytest.raises(ObservationError) as info:
        read_csv(path, ["out_score"])
    message = str(info.value)
    assert message.startswith(f"{path}, row 1:")
    assert f"separated by {name}" in message and "\n" not in message
