"""The wheel carries its templates and schemas: install it non-editable into a fresh venv and
render the lab from an unrelated folder."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from support import REPO

#: The data folders next to `generator/` (hatchling force-includes each into the wheel).
BUNDLED_FOLDERS = (
    "schemas",
    "specs",
    "prices",
    "bicep_templates",
    "policy_templates",
    "query_templates",
    "report_templates",
    "workflow_templates",
)


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_wheel_installs_and_renders(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)], REPO
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(dist.glob("tokengate-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    # Every data folder the code loads through `resources` ships whole, beside the package.
    for folder in BUNDLED_FOLDERS:
        on_disk = {str(f.relative_to(REPO)) for f in (REPO / folder).rglob("*") if f.is_file()}
        shipped = {
            n.removeprefix("generator/") for n in names if n.startswith(f"generator/{folder}/")
        }
        assert on_disk and on_disk <= shipped, f"{folder}: {sorted(on_disk - shipped)[:3]} missing"
    assert "generator/verify/official/arm-deploymentParameters.2019-04-01.schema.json" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    installed = run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)], tmp_path
    )
    assert installed.returncode == 0, installed.stderr[-2000:]

    # Dependencies come from the test environment's site-packages (no network needed); its
    # editable-install hook lives in a .pth file, which PYTHONPATH does not process, so only the
    # wheel's copy of `generator` is importable.
    env = {"PYTHONPATH": sysconfig.get_paths()["purelib"], "PATH": str(env_dir / "bin")}
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run([str(python), "-c", "import generator; print(generator.__file__)"], work, env)
    assert where.stdout.startswith(str(env_dir)), where.stdout + where.stderr
    rendered = run([str(env_dir / "bin" / "tokengate"), "render"], work, env)
    assert rendered.returncode == 0, rendered.stderr
    assert (work / "out" / "main.bicep").is_file()
    assert (work / "out" / "policies" / "api-azure-openai.xml").is_file()
