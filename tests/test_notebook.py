"""The example notebook runs top to bottom (as a user would run it in Jupyter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def test_quickstart_notebook_executes() -> None:
    path = REPO / "examples" / "quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the last cell prints the number of final dice of the fixture: 88 (tests/fixtures/README.md)
    last = nb.cells[-1]["outputs"][0]["data"]["text/plain"]
    assert last == "88"
