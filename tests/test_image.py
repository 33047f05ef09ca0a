"""The container image: deploy/Dockerfile built for real, and its filesystem run.

No container registry is reachable here and no OCI runtime can start a container (setrlimit is
refused), so the test does what a runtime would, piece by piece:

- the base is assembled from Debian packages by mmdebstrap and imported into podman; it takes
  about 40 s, so the tarball is cached outside the repository, keyed by the mmdebstrap command
  (`$XDG_CACHE_HOME/trunk-capacity-exporter/image-base/`, ~/.cache by default; delete it to
  rebuild), and the imported image is kept in podman's storage under a tag with the same key;
- `podman build --isolation=chroot` builds deploy/Dockerfile on it, with the host's CA bundle
  mounted so that pip reaches the package index;
- the image's filesystem (`podman image mount`) is run in new mount and PID namespaces,
  bind-mounted read-only (as Kubernetes' readOnlyRootFilesystem), with a tmpfs on /tmp (the
  Deployment's emptyDir) and /proc, by `chroot --userspec=<the image's USER>`, with the
  image's environment, entrypoint and `--demo`; the test scrapes it on a free loopback port.

Cold (no cached base) it took 105 s here, 45 s of it mmdebstrap; warm, 16 to 30 s (the build's
pip install is most of it). It needs root and Debian's podman, buildah and mmdebstrap (`make
test-tools` installs them), and is skipped with the reason otherwise.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import parsed_families, sample_value, wait_until
from tests.processes import Child, Processes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
# What issue 18 names as the base: Debian's Python, venv and pip, nothing else.
MMDEBSTRAP = (
    "mmdebstrap",
    "--variant=minbase",
    "--include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates",
    "bookworm",
)
BASE_KEY = hashlib.sha256("\0".join(MMDEBSTRAP).encode()).hexdigest()[:16]
BASE_IMAGE = f"localhost/trunk-capacity-exporter-base:{BASE_KEY}"
VENV = "opt/trunk-capacity-exporter"
# What the image may add to its base: the venv, the config directory, the user (and the
# backups groupadd and useradd keep), and the files a build mounts over (/etc/hosts, ...).
ADDED_ALLOWED = (
    f"{VENV}",
    "etc/trunk-capacity-exporter",
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
    "var/log/",
)
# Over the ~250 MB base the venv adds about 10 MB; pip or a wheel left behind would show.
MAX_ADDED_BYTES = 30 * 1024 * 1024
START_TIMEOUT = 30.0
HEALTH_URL = "http://127.0.0.1:10042/-/healthy"  # what the Dockerfile's HEALTHCHECK asks


@dataclass(frozen=True)
class Image:
    name: str
    config: dict[str, Any]  # the image's Config: User, Env, Entrypoint, ...
    healthcheck: list[str]  # the HEALTHCHECK's command, "CMD" first
    size: int
    base_size: int
    root: Path  # the image's filesystem, mounted
    base_root: Path


def run(argv: list[str], timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def require_tools() -> None:
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip(
            "building and running the image needs root (podman's storage, mount namespaces, "
            "chroot): run the suite as root, as CI does"
        )
    for tool, package in (
        ("podman", "podman"),
        ("buildah", "buildah"),
        ("mmdebstrap", "mmdebstrap"),
        ("unshare", "util-linux"),
        ("chroot", "coreutils"),
    ):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found: install Debian's {package} (make test-tools does)")
    info = run(["podman", "info"], timeout=60)
    if info.returncode != 0:
        pytest.skip(f"podman cannot run here: {info.stderr.strip()[-300:]}")


def base_cache() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "trunk-capacity-exporter" / "image-base"


def ensure_base() -> None:
    """The Debian base in podman's storage: kept there, imported from the cached tarball, or
    assembled by mmdebstrap into the cache first. A lock keeps parallel runs from racing."""
    if run(["podman", "image", "exists", BASE_IMAGE]).returncode == 0:
        return
    cache = base_cache()
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{BASE_KEY}.tar"
    with (cache / f"{BASE_KEY}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            partial = cache / f"{BASE_KEY}.partial.tar"  # mmdebstrap picks its format by suffix
            made = run([*MMDEBSTRAP, str(partial)], timeout=900)
            if made.returncode != 0:
                partial.unlink(missing_ok=True)
                pytest.skip(
                    f"could not assemble the Debian base (is a Debian mirror reachable?): "
                    f"mmdebstrap exited {made.returncode}: {made.stderr.strip()[-300:]}"
                )
            partial.rename(tarball)
        if run(["podman", "image", "exists", BASE_IMAGE]).returncode != 0:
            imported = run(["podman", "import", str(tarball), BASE_IMAGE], timeout=300)
            assert imported.returncode == 0, imported.stderr


def inspect(name: str) -> dict[str, Any]:
    result = run(["podman", "image", "inspect", name])
    assert result.returncode == 0, result.stderr
    (data,) = json.loads(result.stdout)
    return dict(data)


def mount(name: str) -> Path:
    result = run(["podman", "image", "mount", name])
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


@pytest.fixture(scope="module")
def image() -> Iterator[Image]:
    require_tools()
    ensure_base()
    name = f"localhost/trunk-capacity-exporter-test:{os.getpid()}-{int(time.time())}"
    build = run(
        [
            "podman", "build", "--isolation=chroot", "--network=host", "--pull=never",
            "--format=docker",  # keeps the HEALTHCHECK, which the OCI format drops
            "--layers=false",  # no intermediate images left in the storage
            "--volume=/etc/ssl/certs:/etc/ssl/certs:ro",
            f"--build-arg=PYTHON_IMAGE={BASE_IMAGE}",
            f"--file={DOCKERFILE}", f"--tag={name}", str(ROOT),
        ],
        timeout=900,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    try:
        built, base = inspect(name), inspect(BASE_IMAGE)
        yield Image(
            name=name,
            config=built["Config"],
            healthcheck=(built.get("Healthcheck") or {}).get("Test", []),
            size=int(built["Size"]),
            base_size=int(base["Size"]),
            root=mount(name),
            base_root=mount(BASE_IMAGE),
        )
    finally:
        run(["podman", "image", "unmount", name])
        run(["podman", "image", "unmount", BASE_IMAGE])
        run(["podman", "rmi", "--force", name])


# Runs as pid 1 of the new PID namespace: mounts the image read-only at $1 (from $2), then the
# command as the image's user; SIGTERM is passed on, as a container runtime does.
NAMESPACE_INIT = """
set -e
root="$1"; image="$2"; user="$3"; shift 3
mount --bind "$image" "$root"
mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777,size=16m tmpfs "$root/tmp"
chroot --userspec="$user" "$root" "$@" &
command=$!
trap 'kill -TERM $command' TERM INT
wait $command || true
wait $command
"""


def start_in_image(
    processes: Processes, image: Image, mountpoint: Path, command: list[str]
) -> Child:
    """`command` run from the image's filesystem (mounted at `mountpoint`) as its USER, with
    the environment the image sets and nothing from this process."""
    env = dict(item.split("=", 1) for item in image.config.get("Env") or [])
    mountpoint.mkdir()
    argv = [
        "unshare", "--mount", "--pid", "--fork", "--kill-child=SIGTERM",
        "sh", "-c", NAMESPACE_INIT, "namespace-init",
        str(mountpoint), str(image.root), image.config["User"], *command,
    ]  # fmt: skip
    return processes.start(argv, env=env, inherit_env=False)


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(line.split()[1])


def test_the_image_runs_its_entrypoint_as_a_non_root_user_on_a_read_only_root(
    image: Image, processes: Processes, tmp_path: Path
) -> None:
    user = image.config["User"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0, f"USER {user!r}: a numeric, non-root uid"
    assert gid.isdigit() and int(gid) != 0
    passwd = (image.root / "etc" / "passwd").read_text().splitlines()
    assert any(line.split(":")[2:4] == [uid, gid] for line in passwd), "USER is not in passwd"
    assert image.healthcheck[0] == "CMD" and f"{HEALTH_URL}" in image.healthcheck[-1]

    command = [*image.config["Entrypoint"], "--demo", "--web.listen-address=127.0.0.1:0"]
    child = start_in_image(processes, image, tmp_path / "exporter", command)
    url = child.url(timeout=START_TIMEOUT)
    (namespace_init,) = wait_until(lambda: children(child.pid), 5, "the namespace's init")
    (exporter,) = wait_until(lambda: children(namespace_init), 5, "the exporter process")
    child.wait_until_ok(f"{url}/-/healthy", timeout=START_TIMEOUT)
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        families = parsed_families(response.read().decode())
    running_as = uid_of(exporter)
    # The HEALTHCHECK's own command, from inside the image, pointed at the port in use.
    probe = [part.replace(HEALTH_URL, f"{url}/-/healthy") for part in image.healthcheck[1:]]
    healthcheck = start_in_image(processes, image, tmp_path / "healthcheck", probe)
    healthcheck_status = healthcheck.wait(timeout=30)
    os.kill(namespace_init, signal.SIGTERM)
    assert child.wait(timeout=15) == 0, child.output[-3000:]
    assert healthcheck_status == 0, healthcheck.output
    assert running_as == int(uid)
    assert sample_value(families, "odin_up", target="odin-demo") == 1
    assert sample_value(families, "didww_up", target="didww-demo") == 1
    assert "msg=stopped" in child.output  # it shut down on SIGTERM, as under a runtime


def added_paths(image: Image) -> list[str]:
    """Every path in the image that its base does not have, relative to /."""
    added = []
    for directory, subdirectories, files in os.walk(image.root):
        relative = Path(directory).relative_to(image.root)
        for name in [*subdirectories, *files]:
            path = relative / name
            if not os.path.lexists(image.base_root / path):
                added.append(path.as_posix())
    return added


def test_the_image_adds_only_the_venv_and_its_user_and_no_build_leftovers(image: Image) -> None:
    added = added_paths(image)
    unexpected = [path for path in added if not path.startswith(ADDED_ALLOWED)]
    assert not unexpected, f"the image adds more than the venv and its user: {unexpected[:20]}"
    assert f"{VENV}/bin/trunk-capacity-exporter" in added
    leftovers = [
        path
        for path in added
        if path.endswith(".whl")
        or path.startswith(("src", "wheels", "root/.cache", "tmp/"))
        or any(part.startswith(("pip", "setuptools", "wheel-")) for part in path.split("/"))
    ]
    assert not leftovers, f"build leftovers in the image: {leftovers[:20]}"
    site_packages = sorted((image.root / VENV / "lib").glob("python3*/site-packages"))
    assert len(site_packages) == 1
    installed = {path.name for path in site_packages[0].iterdir()}
    assert {"exporter", "bcrypt", "prometheus_client", "yaml"} <= installed
    assert not {"pip", "setuptools", "tests"} & installed
    added_bytes = image.size - image.base_size
    mib = 2**20
    print(f"the image adds {added_bytes / mib:.1f} MiB to its {image.base_size / mib:.0f} MiB base")
    assert 0 < added_bytes < MAX_ADDED_BYTES
