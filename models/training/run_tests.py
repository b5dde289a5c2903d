"""Run the training pipeline's Python tests with the pinned packages of requirements.txt.

`cargo test` calls this (tests/training_pipeline.rs), so the README's one test command also covers
the training code:

    python3 models/training/run_tests.py

If this interpreter already has every pinned version (a training machine), the tests run with it.
Otherwise the pinned packages are installed once with `pip install --target` into
`.training-python/<key>/` at the repository root (git-ignored; about 1.6 GB, most of it TensorFlow),
and the tests run with that folder first on PYTHONPATH. The key names the Python version, the machine
and a digest of requirements.txt, so changing a pin installs afresh. The exit code is unittest's.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REQUIREMENTS = HERE / "requirements.txt"
ENV_ROOT = ROOT / ".training-python"

# `name==version` with an optional `; platform_machine == "..."` marker: the only forms requirements.txt uses.
PIN = re.compile(r'^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*platform_machine\s*==\s*"([^"]+)")?\s*$')


def pins(text: str, machine: str) -> list[tuple[str, str]]:
    """The (name, version) pins of a requirements text that apply on `machine`.

    Raises ValueError naming the line for anything but the forms above, so a pin can never be
    silently ignored.
    """
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = PIN.match(line)
        if not m:
            raise ValueError(f"{REQUIREMENTS.name} line {n}: {raw.strip()!r} is not 'name==version' "
                             "with an optional '; platform_machine == \"...\"' marker")
        name, version, only_on = m.groups()
        if only_on is None or only_on == machine:
            out.append((name, version))
    return out


def missing(required: list[tuple[str, str]]) -> list[str]:
    """The pins this interpreter does not satisfy, as 'name==version (have X)'."""
    out = []
    for name, version in required:
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = "none"
        if have != version:
            out.append(f"{name}=={version} (have {have})")
    return out


def provision(text: str) -> Path:
    """Install the pins into .training-python/<key>/ once; return that folder."""
    key = "py{}.{}-{}-{}".format(sys.version_info[0], sys.version_info[1], platform.machine(),
                                  hashlib.sha256(text.encode()).hexdigest()[:12])
    target = ENV_ROOT / key
    if (target / ".complete").exists():
        return target
    partial = ENV_ROOT / (key + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    print(f"run_tests: installing the pinned training packages into {target} (once)", flush=True)
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-warn-script-location",
           "--target", str(partial), "-r", str(REQUIREMENTS)]
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"run_tests: '{' '.join(cmd)}' failed (exit {done.returncode}); it needs pip "
                         "and a connection to PyPI, or the packages of requirements.txt installed already")
    (partial / ".complete").write_text(text)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def main() -> int:
    text = REQUIREMENTS.read_text()
    need = missing(pins(text, platform.machine()))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", TF_CPP_MIN_LOG_LEVEL="2")
    if need:
        print("run_tests: this interpreter lacks " + ", ".join(need), flush=True)
        site = provision(text)
        env["PYTHONPATH"] = os.pathsep.join([str(site)] + [p for p in [env.get("PYTHONPATH")] if p])
    else:
        print("run_tests: this interpreter has every pinned training package", flush=True)
    cmd = [sys.executable, "-m", "unittest", "discover", "-s", str(HERE), "-p", "test_*.py", "-v"]
    return subprocess.run(cmd, env=env, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
