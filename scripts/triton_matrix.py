"""The fused kernel's tests under each Triton version, each in its own virtual environment (not run in CI).

    python scripts/triton_matrix.py [--versions 3.2.0,3.3.1,...] [--venvs DIR] [--wheels DIR]
                                    [--torch-from SITE_PACKAGES | --torch-spec SPEC] [--aot "ARGS"] [--json FILE]

For each version: a venv ``<venvs>/triton-X.Y`` (made once; the Triton wheel is downloaded once into
``--wheels``), then ``TRITON_INTERPRET=1 pytest tests/unit/test_triton_kernels.py test_triton_dispatch.py`` in
it, and with ``--aot`` the ahead-of-time compile (``scripts/triton_aot.py ARGS``) too. Prints a Markdown table.

torch, numpy, pytest and entmax: by default those of the Python running this script, seen by each venv through
a ``.pth`` file placed after the venv's own packages (so the venv's Triton wins); a CPU torch is enough, since
the interpreter runs on CPU. ``--torch-spec torch==2.6.0`` installs that torch into each venv instead (PyPI's
Linux wheels are CUDA builds; they import without a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ("3.2.0", "3.3.1", "3.4.0", "3.5.1", "3.6.0", "3.7.1", "3.8.0", "3.9.0")
TESTS = ("tests/unit/test_triton_kernels.py", "tests/unit/test_triton_dispatch.py")
SHARED_PTH = "zz_pladis_shared_packages.pth"


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         check=True, capture_output=True, text=True)  # fmt: skip
    return Path(out.stdout.strip())


def prepare(version: str, venvs: Path, wheels: Path, torch_from: Path | None, torch_spec: str | None) -> Path:
    """The venv for this Triton version, made and filled if needed; its python."""
    venv = venvs / f"triton-{'.'.join(version.split('.')[:2])}"
    python = _venv_python(venv)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    installed = subprocess.run([str(python), "-c", "import triton; print(triton.__version__)"],
                               capture_output=True, text=True)  # fmt: skip
    wheels.mkdir(parents=True, exist_ok=True)
    if installed.stdout.strip() != version:
        _pip("download", "-q", "--no-deps", "-d", str(wheels), f"triton=={version}")
        _pip("--python", str(python), "install", "-q", "--no-deps", "--no-index", "--find-links", str(wheels),
             f"triton=={version}")  # fmt: skip
    pth = _site_packages(python) / SHARED_PTH
    if torch_spec:
        pth.unlink(missing_ok=True)
        specs = [torch_spec, "numpy", "pytest", "entmax"]
        _pip("download", "-q", "-d", str(wheels), *specs)
        _pip("--python", str(python), "install", "-q", "--find-links", str(wheels), *specs)
        # Keep this Triton: a torch's own pin would replace it.
        _pip("--python", str(python), "install", "-q", "--no-deps", "--no-index", "--find-links", str(wheels),
             "--force-reinstall", f"triton=={version}")  # fmt: skip
    elif torch_from:
        pth.write_text(f"{torch_from}\n")
    return python


def run_tests(python: Path) -> dict:
    started = time.perf_counter()
    env = dict(os.environ, TRITON_INTERPRET="1")
    result = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
                            cwd=ROOT, capture_output=True, text=True, env=env)  # fmt: skip
    counts = {name: int(n) for n, name in re.findall(r"(\d+) (passed|failed|skipped|error|errors)", result.stdout)}
    failures = re.findall(r"^FAILED (\S+)", result.stdout, flags=re.MULTILINE)
    return {
        "passed": counts.get("passed", 0),
        "failed": counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0),
        "skipped": counts.get("skipped", 0),
        "exit": result.returncode,
        "seconds": round(time.perf_counter() - started, 1),
        "failures": failures,
        "tail": result.stdout[-2000:] if result.returncode else "",
    }


def run_aot(python: Path, arguments: str, json_path: Path) -> dict:
    started = time.perf_counter()
    command = [str(python), "scripts/triton_aot.py", *shlex.split(arguments), "--json", str(json_path)]
    env = dict(os.environ, TRITON_INTERPRET="0", TRITON_DEFAULT_FP_FUSION="1")
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    rows = json.loads(json_path.read_text()) if json_path.exists() else []
    return {
        "compiled": sum(row["ok"] for row in rows),
        "failed": sum(not row["ok"] for row in rows),
        "exit": result.returncode,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "tail": "" if result.returncode == 0 else (result.stdout + result.stderr)[-2000:],
    }


def torch_version(python: Path) -> str:
    out = subprocess.run([str(python), "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True)
    return out.stdout.strip() or "none"


def table(results: list[dict]) -> str:
    lines = [
        "| Triton | torch | kernel tests (interpreter) | time | AOT compiled / failed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        tests = r.get("tests")
        cell = "not run" if tests is None else f"{tests['passed']} passed, {tests['failed']} failed"
        if tests and tests["skipped"]:
            cell += f", {tests['skipped']} skipped"
        seconds = f"{tests['seconds']} s" if tests else ""
        aot = r.get("aot")
        aot_cell = "not run" if aot is None else f"{aot['compiled']} / {aot['failed']}"
        lines.append(f"| {r['triton']} | {r['torch']} | {cell} | {seconds} | {aot_cell} |")
    return "\n".join(lines)


def _versions(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=_versions, default=VERSIONS)
    parser.add_argument("--venvs", type=Path, default=Path("/work/venvs"))
    parser.add_argument("--wheels", type=Path, default=None, help="wheel cache (default: <venvs>/wheels)")
    parser.add_argument("--torch-from", type=Path, default=None, help="site-packages with torch (default: ours)")
    parser.add_argument("--torch-spec", default=None, help="install this torch into each venv instead")
    parser.add_argument("--skip-tests", action="store_true")
    parser.add_argument("--aot", default=None, help='also run scripts/triton_aot.py with these arguments ("" = all)')
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch_from = args.torch_from or Path(sysconfig.get_paths()["purelib"])
    wheels = args.wheels or args.venvs / "wheels"
    results = []
    for version in args.versions:
        python = prepare(version, args.venvs, wheels, None if args.torch_spec else torch_from, args.torch_spec)
        result = {"triton": version, "torch": torch_version(python)}
        if not args.skip_tests:
            result["tests"] = run_tests(python)
        if args.aot is not None:
            json_path = args.venvs / f"aot-{version}.json"
            result["aot"] = run_aot(python, args.aot, json_path)
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k not in ("aot",)}), flush=True)
        if "aot" in result:
            print(f"AOT {version}: {result['aot']['compiled']} compiled, {result['aot']['failed']} failed", flush=True)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    ok = all((r.get("tests") or {}).get("exit", 0) == 0 and (r.get("aot") or {}).get("failed", 0) == 0 for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
