"""The example notebook runs top to bottom (as a user would run it in Jupyter); the %%stdf magic."""

from __future__ import annotations

import re

import pytest
from conftest import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def test_quickstart_notebook_executes() -> None:
    path = REPO / "examples" / "quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the last cell prints the number of final dice of the fixture: 88 (tests/fixtures/README.md)
    last = nb.cells[-1]["outputs"][0]["data"]["text/plain"]
    assert last == "88"


def test_stdf_magic_usage_errors_are_one_line() -> None:
    """`%%stdf --connection NAME` with no such variable, or one that is not a connection, or an
    unknown option: a UsageError (IPython prints it as one line), never a KeyError traceback."""
    pytest.importorskip("IPython")
    from IPython.core.error import UsageError
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "stdf_duck")
    ip.user_ns["not_a_con"] = 42
    for line, says in [
        ("--connection nosuch", "no variable named 'nosuch'"),
        ("--connection not_a_con", "'not_a_con' is a int, not a DuckDB connection"),
        ("--bogus", "unrecognized arguments: --bogus"),
    ]:
        with pytest.raises(UsageError, match=re.escape(says)):
            ip.run_cell_magic("stdf", line, "SELECT 1")
        result = ip.run_cell(f"%%stdf {line}\nSELECT 1")
        assert isinstance(result.error_in_exec, UsageError)
    fx = REPO / "tests" / "fixtures" / "multisite_le.stdf"
    df = ip.run_cell_magic("stdf", "", f"SELECT count(*) AS n FROM stdf_parts('{fx}')")
    assert int(df["n"][0]) == 94  # tests/fixtures/README.md: 94 parts
