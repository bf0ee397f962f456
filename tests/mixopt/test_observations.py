import numpy as np
import pytest

from mixopt import ObservationError
from mixopt.observations import read_csv

GOOD = """w.coco,w.lisa,w.sat,out_score,in_score
0.5,0.5,0,0.41,0.5
0.2,0.3,0.5,0.44,0.52
1,0,0,0.39,0.47
"""


def write(tmp_path, text, name="obs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_weights_and_objectives_in_file_order(tmp_path):
    obs = read_csv(write(tmp_path, GOOD), ["out_score", "in_score"])
    assert obs.space.domains == ("coco", "lisa", "sat")
    np.testing.assert_allclose(obs.X[1], [0.2, 0.3, 0.5])
    np.testing.assert_allclose(obs.objective("in_score"), [0.5, 0.52, 0.47])
    assert obs.rows == (2, 3, 4)


@pytest.mark.parametrize(
    ("text", "objectives", "expected"),
    [
        ("", ["y"], "obs.csv: the file is empty"),
        ("w.a,w.b,y\n", ["y"], "obs.csv: has a header but no result rows"),
        ("a,b,y\n0.5,0.5,1\n", ["y"], "obs.csv, row 1: needs one column 'w.<domain>'"),
        ("w.a,w.b,y\n0.5,0.5,1\n", ["z"], "obs.csv, row 1: objective column 'z' not found"),
        ("w.a,w.a,y\n0.5,0.5,1\n", ["y"], "obs.csv, row 1: duplicate column(s) ['w.a']"),
        ("w.a,w.b,y\n0.5,0.5,1\n0.5,0.5\n", ["y"], "obs.csv, row 3: has 2 cells but"),
        ("w.a,w.b,y\n0.5,0.5,1,7\n", ["y"], "obs.csv, row 2: has 4 cells but"),
        ("w.a,w.b,y\n0.5,0.6,1\n", ["y"], "obs.csv, row 2, column 'w.a,w.b': weights sum to 1.1"),
        ("w.a,w.b,y\n1.5,-0.5,1\n", ["y"], "obs.csv, row 2, column 'w.b': weight -0.5 is negative"),
        ("w.a,w.b,y\nx,1,1\n", ["y"], "obs.csv, row 2, column 'w.a': 'x' is not a number"),
        ("w.a,w.b,y\n0.5,0.5,nan\n", ["y"], "obs.csv, row 2, column 'y': value 'nan' is not"),
        ("w.a,w.b,y\n0.5,0.5,inf\n", ["y"], "obs.csv, row 2, column 'y': value 'inf' is not"),
        ("w.a,w.b,y\n0.5,0.5,\n", ["y"], "obs.csv, row 2, column 'y': empty cell"),
        ("w.a,w.b,y\n0.5,0.5,1\n1,0,2\n0.5,0.5,1\n", ["y"],
         "obs.csv, row 4: is identical to row 2"),
    ],
)
def test_bad_files_give_one_line_errors_naming_file_row_and_column(
    tmp_path, text, objectives, expected
):
    with pytest.raises(ObservationError) as info:
        read_csv(write(tmp_path, text), objectives)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith(expected) or expected in message, message
    assert message.startswith(str(tmp_path / "obs.csv"))


def test_missing_file_and_domain_mismatch(tmp_path):
    with pytest.raises(ObservationError, match="file not found"):
        read_csv(tmp_path / "nope.csv", ["y"])
    path = write(tmp_path, "w.a,w.b,y\n0.5,0.5,1\n")
    with pytest.raises(ObservationError, match=r"missing \['c'\], unexpected \['b'\]"):
        read_csv(path, ["y"], domains=["a", "c"])


def test_normalize_rescales_rows_and_replicates_are_kept(tmp_path):
    path = write(tmp_path, "w.a,w.b,y\n1,3,0.4\n1,3,0.41\n")
    obs = read_csv(path, ["y"], normalize=True)
    np.testing.assert_allclose(obs.X, [[0.25, 0.75], [0.25, 0.75]])
    assert len(obs) == 2
