"""The PEP 517 build backend of stdf_duck: maturin, plus the DuckDB extension.

A wheel of stdf_duck holds two native artifacts built from the same Rust core:

* `stdf_duck/_native.*.so`, the PyO3 module, built by maturin;
* `stdf_duck/stdf.duckdb_extension`, the DuckDB loadable extension (rust/stdf-duckdb): a cdylib
  (`cargo build --release -p stdf-duckdb`) turned into an extension by appending DuckDB's metadata
  footer (`stdf-duckdb-footer`). maturin packs it into the wheel (`[tool.maturin] include`).

So `pip install .` (and `pip wheel .`, `python -m build`, `pip install -e .`) builds both. The extension
is built in the cargo target folder of the checkout (`CARGO_TARGET_DIR` when set), so a tree already built
by `make develop` is reused, not rebuilt. When it cannot be built the wheel is not built either: a wheel
without it would silently serve SQL on the slower rewrite route.

`python build-backend/stdf_duck_build.py` (what `make extension` runs) builds the extension alone.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

try:
    import maturin as _maturin  # present in the build environment ([build-system] requires)
except ImportError:  # `python build-backend/stdf_duck_build.py` needs only the standard library
    _maturin = None

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ROOT / "stdf_duck" / "stdf.duckdb_extension"
EXTENSION_CRATE = "rust/stdf-duckdb"


def _run(cmd: list[str]) -> str:
    print("stdf_duck build:", " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"building the DuckDB extension failed ({' '.join(cmd)} exited {done.returncode}); "
            "stdf_duck needs a Rust toolchain (https://rustup.rs) to build from source"
        )
    return done.stdout


def build_extension() -> Path:
    """Build rust/stdf-duckdb and its metadata footer; place it in the package. Returns its path."""
    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    if cargo is None:
        raise RuntimeError("cargo is not on PATH: stdf_duck needs a Rust toolchain (https://rustup.rs) to build")
    _run([cargo, "build", "--release", "-p", "stdf-duckdb"])
    # the footer tool writes target/release/stdf.duckdb_extension next to itself and prints its path
    out = _run([cargo, "run", "--release", "-q", "-p", "stdf-duckdb", "--bin", "stdf-duckdb-footer"])
    built = Path(out.strip().splitlines()[-1])
    tmp = PACKAGED.with_name(PACKAGED.name + ".tmp")
    shutil.copyfile(built, tmp)
    os.replace(tmp, PACKAGED)  # a DuckDB holding the old file keeps its mapping
    return PACKAGED


# ---- PEP 517 hooks: maturin's, with the extension built first wherever a wheel is made -------


def build_wheel(wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None) -> str:
    build_extension()
    return str(_maturin.build_wheel(wheel_directory, config_settings, metadata_directory))


def build_editable(wheel_directory: str, config_settings: Any = None, metadata_directory: str | None = None) -> str:
    build_extension()
    return str(_maturin.build_editable(wheel_directory, config_settings, metadata_directory))


def build_sdist(sdist_directory: str, config_settings: Any = None) -> str:
    name = str(_maturin.build_sdist(sdist_directory, config_settings))
    _keep_member(Path(sdist_directory) / name, EXTENSION_CRATE)
    return name


def _keep_member(sdist: Path, crate: str) -> None:
    """maturin's sdist lists only the crates of the Python module as workspace members; put the
    extension's crate (which the sdist carries, `[tool.maturin] include`) back, so that building a
    wheel from the sdist builds the extension too."""
    with tarfile.open(sdist, "r:gz") as tar:
        entries = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]  # type: ignore[union-attr]
    tmp = sdist.with_name(sdist.name + ".tmp")
    with tarfile.open(tmp, "w:gz", format=tarfile.PAX_FORMAT) as out:
        for m, data in entries:
            if data is not None and m.name.count("/") == 1 and m.name.endswith("/Cargo.toml"):
                text = data.decode()
                listed = re.search(r"^members\s*=\s*\[(.*?)\]", text, re.S | re.M)
                if listed is None:
                    raise RuntimeError(f"{m.name} in {sdist.name} has no workspace members list")
                if f'"{crate}"' not in listed.group(1):
                    text = text[: listed.end(1)] + f', "{crate}"' + text[listed.end(1) :]
                data = text.encode()
                m.size = len(data)
            out.addfile(m, io.BytesIO(data) if data is not None else None)
    os.replace(tmp, sdist)


def get_requires_for_build_wheel(config_settings: Any = None) -> list[str]:
    return list(_maturin.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_sdist(config_settings: Any = None) -> list[str]:
    return list(_maturin.get_requires_for_build_sdist(config_settings))


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Any = None) -> str:
    return str(_maturin.prepare_metadata_for_build_wheel(metadata_directory, config_settings))


# the optional hooks (PEP 660) only where this maturin has them: a frontend falls back without them
for _hook in ("get_requires_for_build_editable", "prepare_metadata_for_build_editable"):
    if hasattr(_maturin, _hook):
        globals()[_hook] = getattr(_maturin, _hook)


if __name__ == "__main__":
    try:
        print(build_extension())
    except RuntimeError as e:
        sys.exit(f"stdf_duck build: {e}")
