"""Release check: build every distribution, check it, install it like a user and run it.

1. Build the wheel and sdist of tickstore-core, tickstore (the package users install) and the
   three backends into one directory; ``twine check`` them; all carry one version, the newest
   in CHANGELOG.md.
2. Install ``tickstore[s3,azure]`` from those files (not editable; dependencies from the package
   index) into a fresh venv, and from an empty directory, with no repository on the path:
   ``import tickstore_core; open_store()`` on the embedded default store, ``tickstore
   --version``, ``tickstore backends``, the demo, and the backend and store conformance suites
   on file://, s3:// (moto_server) and az:// (Azurite) through the installed entry points.

Run it with ``./dev release`` (CI does, after the tests). Servers bind to 127.0.0.1 and are
stopped by PID.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from emulators._process import free_port, start_server, stop_server  # noqa: E402
from emulators.azurite import azurite_command, connection_string  # noqa: E402

PROJECTS = [
    ".",
    "distributions/tickstore",
    "backends/tickstore-hdf5",
    "backends/tickstore-s3",
    "backends/tickstore-azure",
]


def run(*command: str | Path, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    """Run a command, echo it, fail the check with its output if it fails."""
    shown = " ".join(str(c) for c in command)
    print(f"$ {shown}", flush=True)
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"release check failed: {shown}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def changelog_version() -> str:
    match = re.search(r"^## \[?(\d+\.\d+\.\d+)", (REPO / "CHANGELOG.md").read_text(), re.MULTILINE)
    if not match:
        sys.exit("release check failed: CHANGELOG.md has no '## X.Y.Z' section")
    return match.group(1)


def build(dist: Path) -> str:
    for project in PROJECTS:
        run(sys.executable, "-m", "build", "--wheel", "--sdist", "--outdir", dist, REPO / project)
    built = sorted(p.name for p in dist.iterdir())
    run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()))
    versions = {re.match(r"[a-z0-9_]+-(\d+\.\d+\.\d+)", name).group(1) for name in built}  # type: ignore[union-attr]
    version = changelog_version()
    if versions != {version}:
        sys.exit(f"release check failed: distributions carry versions {sorted(versions)}, CHANGELOG.md says {version}")
    if len(built) != 2 * len(PROJECTS):
        sys.exit(f"release check failed: expected a wheel and an sdist of {len(PROJECTS)} projects, got {built}")
    print(f"built {len(built)} files, version {version}")
    return version


def user_environment(home: Path) -> dict[str, str]:
    """The environment of a user with nothing configured: no repository, no tickstore settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TICKSTORE_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_CACHE_HOME=str(home / "cache"))
    env["XDG_CONFIG_HOME"] = str(home / "config")
    return env


def install_and_try(dist: Path, version: str, work: Path) -> None:
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv)
    python, tickstore = venv / "bin" / "python", venv / "bin" / "tickstore"
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip>=25.1")
    run(
        python, "-m", "pip", "install", "--quiet", "--find-links", dist,
        f"tickstore[s3,azure]=={version}", f"tickstore-core[testing]=={version}", "moto[server]>=5.1",
    )  # fmt: skip
    here = work / "empty"
    here.mkdir()
    env = user_environment(work / "home")
    code = (
        "import tickstore_core as ts; s = ts.open_store(); print(s.backend.url, ts.__version__); s.close(); "
        "import tickstore_hdf5, tickstore_s3, tickstore_azure; print(ts.__file__)"
    )
    print(run(python, "-c", code, cwd=here, env=env))
    shown = run(tickstore, "--version", cwd=here, env=env).strip()
    if shown != f"tickstore {version}":
        sys.exit(f"release check failed: `tickstore --version` says {shown!r}, expected 'tickstore {version}'")
    print(run(tickstore, "backends", cwd=here, env=env))
    run(tickstore, "demo", "--days", "3", cwd=here, env=env)
    shutil.copy(REPO / ".ci" / "installed_conformance.py", here / "test_installed.py")
    moto_port, azurite_port = free_port(), free_port()
    moto = start_server(
        "moto_server", [venv / "bin" / "moto_server", "-H", "127.0.0.1", "-p", str(moto_port)], moto_port,
        work / "moto.log",
    )  # fmt: skip
    try:
        azurite = start_server("azurite", azurite_command(azurite_port), azurite_port, work / "azurite.log")
        try:
            env.update(
                TICKSTORE_TEST_S3_ENDPOINT=f"http://127.0.0.1:{moto_port}",
                TICKSTORE_TEST_AZURE=connection_string(azurite_port),
            )
            print(run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_installed.py", cwd=here, env=env))
        finally:
            stop_server(azurite)
    finally:
        stop_server(moto)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tickstore-release-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        version = build(dist)
        install_and_try(dist, version, work)
    print(f"release check passed: tickstore {version} builds, installs and passes its conformance suites")


if __name__ == "__main__":
    main()
