"""Run one untrusted submission in a sandbox: a private folder, limits, nothing left running.

Three modes, chosen by :func:`choose_mode` (the first available) or by name:

``bwrap`` (bubblewrap, Debian package ``bubblewrap``)
    The submission runs in new PID, network, IPC, UTS and mount namespaces, without any
    capability: when the grader is root, as the unprivileged user ``clvkit-sandbox`` (created if
    missing; bubblewrap sets up the namespaces as root, then ``setpriv`` drops to that user),
    otherwise as uid/gid 65534 of a new user namespace. Its file system holds only: the Python
    interpreter and installed packages (read-only), the ``clvkit`` package itself (read-only;
    not the repository around it), a few files of ``/etc`` (dynamic linker cache, time zone,
    fonts), a private ``/tmp``, and its box: ``/box/notebooks/<notebook>.ipynb`` (writable) and
    ``/box/data`` (a read-only copy). The repository, the source notebooks and check files,
    other students' work, the grading output and the grader's ``/proc`` do not exist in it;
    there is no network. ``/proc`` shows only its own processes. When the submission's main
    process ends (or the grader kills it at the time limit) the PID namespace ends and the
    kernel kills every process in it, daemons that double-forked into a new session included.
    Not protected: CPU caches and timing side channels; the data copy is readable (it is the
    course's public data).

``user`` (the grader is root, no bubblewrap)
    The submission runs as the unprivileged user ``clvkit-sandbox`` (created if missing) in a
    new PID namespace (``unshare --pid --fork --kill-child``, so every process is killed at the
    end) with the same limits, in its private box. Not protected: everything on the machine
    that any user may read (world-readable files, e.g. a repository checked out with mode
    644) is readable; the network is open. The interpreter must be readable by that user.

``rlimits`` (no root, no bubblewrap: last resort)
    Only the limits, a private working folder and a cleared environment; the process group is
    killed at the end. Not protected: the submission runs as the grading user and can read and
    write whatever that user can (the repository, the source notebooks, other submissions,
    the output folder), and a daemon that calls ``setsid`` survives. Use it only for trusted
    submissions (e.g. your own tests).

In every mode: address space ``memory_mb``, CPU seconds, 256 processes, 200 MB per written
file, no core files; one BLAS thread.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import ClvError

__all__ = ["MODES", "Limits", "choose_mode", "run_in_sandbox", "SANDBOX_USER"]

MODES = ("bwrap", "user", "rlimits")
#: The unprivileged user of the ``user`` mode (created when the grader is root).
SANDBOX_USER = "clvkit-sandbox"
_NOBODY = 65534
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime",
        "/etc/fonts", "/etc/alternatives", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed run.

    Attributes
    ----------
    seconds : float
        Wall-clock seconds before every process of the run is killed.
    cpu_seconds : int
        CPU seconds (``RLIMIT_CPU``).
    memory_mb : int
        Address space in MiB (``RLIMIT_AS``).
    processes : int
        Processes and threads (``RLIMIT_NPROC``).
    """

    seconds: float = 600
    cpu_seconds: int = 600
    memory_mb: int = 4096
    processes: int = 256


def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    probe = subprocess.run(["bwrap", "--unshare-all", "--unshare-user", "--uid", str(_NOBODY),
                            "--gid", str(_NOBODY), "--ro-bind", "/", "/", "--proc", "/proc",
                            "--dev", "/dev", "true"], capture_output=True)
    return probe.returncode == 0


def choose_mode(mode: str | None = None) -> str:
    """The sandbox mode to use: ``mode`` if given (checked), else the safest available.

    Raises
    ------
    ClvError
        If the requested mode cannot run on this machine.
    """
    if mode is not None and mode not in MODES:
        raise ClvError(f"sandbox must be one of {list(MODES)}, got {mode!r}")
    if mode in (None, "bwrap") and _bwrap_works():
        return "bwrap"
    if mode == "bwrap":
        raise ClvError("the bwrap sandbox is not available here (install Debian's bubblewrap; "
                       "user namespaces must be allowed)")
    if mode in (None, "user") and os.geteuid() == 0:
        _interpreter_readable_by_others()
        return "user"
    if mode == "user":
        raise ClvError("the `user` sandbox needs the grader to run as root")
    return "rlimits"


def _interpreter_readable_by_others() -> None:
    for folder in {Path(sys.base_prefix), Path(sys.prefix)}:
        for part in [folder, *folder.parents]:
            if part.exists() and not os.stat(part).st_mode & 0o005:
                raise ClvError(f"the `user` sandbox cannot run: {part} is not readable by other "
                               f"users, so {SANDBOX_USER} cannot start Python; install "
                               "bubblewrap (apt-get install bubblewrap) or a system Python")


def _ensure_user() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--user-group", "--shell",
                        "/usr/sbin/nologin", SANDBOX_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(SANDBOX_USER)
    return entry.pw_uid, entry.pw_gid


def _chown(box: Path, uid: int, gid: int) -> None:
    for path in [box, *box.rglob("*")]:
        if not path.is_symlink():
            os.chown(path, uid, gid)


def _package_dirs() -> list[Path]:
    """Read-only paths the interpreter needs: its prefixes, sys.path, the clvkit package."""
    package = Path(__file__).resolve().parent
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), package}
    for entry in sys.path:
        p = Path(entry or ".").resolve()
        if not p.is_dir() or p == package.parent:  # the repository of an editable install
            continue
        if not (p / "clvkit").is_dir():
            paths.add(p)
    # keep the outermost of nested paths
    return sorted(p for p in paths if not any(q != p and p.is_relative_to(q) for q in paths))


def _set_limits(limits: Limits):
    def apply():
        os.setsid()
        for what, value in ((resource.RLIMIT_AS, limits.memory_mb * 2**20),
                            (resource.RLIMIT_CPU, limits.cpu_seconds),
                            (resource.RLIMIT_NPROC, limits.processes),
                            (resource.RLIMIT_FSIZE, 200 * 2**20),
                            (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(what, (value, value))
    return apply


def _environment(home: str) -> dict:
    return {"HOME": home, "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
            "TZ": "UTC", "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{home}/.mpl",
            "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "CLVKIT_CELL_SECONDS": os.environ.get("CLVKIT_CELL_SECONDS", "60")}


def _mpl_cache(box: Path) -> None:
    """Copy matplotlib's font list into the box: no font-cache rebuild in every run."""
    try:
        import matplotlib

        cache = Path(matplotlib.get_cachedir())
    except Exception:  # noqa: BLE001 -- no cache: matplotlib builds one (slower, still right)
        return
    (box / ".mpl").mkdir(exist_ok=True)
    for font_list in cache.glob("fontlist-*.json"):
        shutil.copy(font_list, box / ".mpl" / font_list.name)


def _command(mode: str, argv: list[str], box: Path, data: Path | None) -> tuple[list, dict, str]:
    if mode == "bwrap":
        if os.geteuid() == 0:  # namespaces as root, then the unprivileged user runs Python
            uid, gid = _ensure_user()
            _chown(box, uid, gid)
            cmd = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                   "--unshare-cgroup-try"]
            drop = ["setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        else:  # a user namespace in which the submission is uid/gid 65534, no capabilities
            cmd = ["bwrap", "--unshare-all", "--unshare-user", "--uid", str(_NOBODY), "--gid",
                   str(_NOBODY), "--cap-drop", "ALL"]
            drop = []
        cmd += ["--die-with-parent", "--new-session", "--ro-bind", "/usr", "/usr",
                "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for link in ("bin", "lib", "lib64", "sbin"):
            if Path("/" + link).is_symlink():
                cmd += ["--symlink", os.readlink("/" + link), "/" + link]
            elif Path("/" + link).is_dir():
                cmd += ["--ro-bind", "/" + link, "/" + link]
        for path in _ETC:
            cmd += ["--ro-bind-try", path, path]
        packages = _package_dirs()
        parents = sorted({str(q) for p in packages for q in p.parents
                          if str(q) not in ("/", "/usr", "/tmp")} - {str(p) for p in packages},
                         key=lambda q: q.count("/"))
        for folder in parents:  # readable by the unprivileged user (bwrap's default is 0700)
            if not any(folder == str(p) or folder.startswith(f"{p}/") for p in packages):
                cmd += ["--perms", "0755", "--dir", folder]
        for path in packages:
            cmd += ["--ro-bind", str(path), str(path)]
        cmd += ["--bind", str(box), "/box"]
        if data is not None:
            cmd += ["--ro-bind", str(data), "/box/data"]
        cmd += ["--chdir", "/box/notebooks", "--clearenv"]
        env = _environment("/box")
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        return [*cmd, "--", *drop, *argv[:-1], "/box"], {}, "/"
    env = _environment(str(box))
    argv = [*argv[:-1], str(box)]
    if data is not None:
        (box / "data").symlink_to(data, target_is_directory=True)
    if mode == "user":
        uid, gid = _ensure_user()
        _chown(box, uid, gid)
        cmd = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "setpriv",
               "--reuid", str(uid), "--regid", str(gid), "--clear-groups", "--inh-caps=-all",
               "--", *argv]
        return cmd, env, str(box / "notebooks")
    return list(argv), env, str(box / "notebooks")


def run_in_sandbox(argv: list[str], *, box, data=None, mode: str = "bwrap",
                   limits: Limits = Limits()) -> tuple[int | None, str]:
    """Run ``argv`` (its last item is the box path) in the sandbox ``mode``.

    Parameters
    ----------
    argv : list of str
        The command; its last item is replaced by the box path as the sandbox sees it.
    box : path-like
        The private folder (``notebooks/`` inside it is the working folder).
    data : path-like, optional
        Read-only data folder, seen as ``<box>/data``.
    mode : {"bwrap", "user", "rlimits"}
    limits : Limits

    Returns
    -------
    (int or None, str)
        The exit code (None: killed at the time limit) and the last 2,000 characters of
        stderr (for the instructor's log only, never for a student's feedback).
    """
    box = Path(box).resolve()
    _mpl_cache(box)
    cmd, env, cwd = _command(mode, argv, box, Path(data).resolve() if data else None)
    log = box.parent / f"{box.name}.stderr"  # outside the box; its size is capped by FSIZE
    with open(log, "wb") as err:
        process = subprocess.Popen(cmd, cwd=cwd, env=env or None, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=err,
                                   preexec_fn=_set_limits(limits))
        try:
            code = process.wait(timeout=limits.seconds)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    with open(log, "rb") as err:
        err.seek(max(0, log.stat().st_size - 2000))
        tail = err.read().decode("utf-8", "replace")
    log.unlink()
    return code, tail
