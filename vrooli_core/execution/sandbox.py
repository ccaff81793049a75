"""Runs untrusted Python source in a separate, limited process and returns its JSON result.

The parent (this module, under anyio) starts ``python -I -B -c <_CHILD>`` in a fresh temporary
directory with a minimal environment, sends one JSON job on stdin and reads frames from the child's
stdout. The child moves that stdout to a private descriptor before the user's code runs and points
descriptor 1 at stderr, so whatever the code prints lands in the log (of which the last
``log_kib`` KiB are kept) and never in the protocol. Frames are JSON lines: first
``{"ready": {...}}`` (what isolation the child obtained), then ``{"ok": value}`` or
``{"error": {...}}``. The wall limit is the parent's: it kills the child's whole process group.
What is and is not guaranteed is in ``docs/sandbox.md``.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from vrooli_core.jsonable import unstorable

#: What a code step may ask of the network: cut it where the OS allows (else run and report that it
#: was not), require the cut (else fail before the code runs), or leave it alone.
NETWORK_MODES = ("best_effort", "required", "allow")

#: Seconds the log may keep arriving after the child exited (stray grandchildren hold stderr open).
_LOG_GRACE = 0.5


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, not {value!r}")


@attrs.frozen(kw_only=True)
class Limits:
    """Resource limits of one code run. CPU, memory, file size and open files are ``setrlimit`` limits
    set in the child (POSIX only); the wall limit is enforced by the parent everywhere."""

    cpu_seconds: float = attrs.field(default=5.0, validator=_positive)
    memory_mb: int = attrs.field(default=256, validator=_positive)
    wall_seconds: float = attrs.field(default=10.0, validator=_positive)
    #: The largest file the code may write (RLIMIT_FSIZE).
    file_mb: int = attrs.field(default=16, validator=_positive)
    open_files: int = attrs.field(default=64, validator=_positive)
    #: The largest result the parent accepts.
    output_mb: int = attrs.field(default=16, validator=_positive)

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> Limits:
        """Limits from a step's ``limits`` table; raises ``ValueError`` naming an unknown or bad key."""
        raw = dict(raw or {})
        known = {a.name for a in attrs.fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown limit(s) {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})")
        for key, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"limit {key!r} must be a number, not {value!r}")
        return cls(**raw)


@attrs.frozen
class Isolation:
    """What the child actually obtained (reported by the child before the user's code runs)."""

    network_cut: bool = False
    #: How the network was cut, or why it was not.
    network: str = "unknown: the child stopped before reporting"
    #: The ``RLIMIT_*`` names that were set.
    limits: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"network_cut": self.network_cut, "network": self.network, "limits": list(self.limits)}


@attrs.frozen
class SandboxResult:
    """``error`` is ``None`` on success (``output`` is the code's result); otherwise its ``code`` is one
    of code_error, invalid_code, cpu_limit, memory_limit, wall_limit, invalid_output, network_denied,
    network_not_cut, crashed."""

    output: Any = None
    error: str | None = None
    message: str = ""
    #: User-code line of the failure (``line``) and its formatted traceback (``traceback``), when known.
    details: Mapping[str, Any] = attrs.field(factory=dict)
    isolation: Isolation = Isolation()
    #: The last ``log_kib`` KiB of what the code printed (stdout and stderr together).
    log: str = ""
    returncode: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class SandboxInputError(ValueError):
    """The inputs cannot be sent to the child (they are not JSON)."""


async def run_code(
    source: str,
    inputs: Any,
    *,
    limits: Limits = Limits(),
    filename: str = "<code>",
    network: str = "best_effort",
    log_kib: int = 8,
) -> SandboxResult:
    """Run ``source`` (which defines ``main(inputs)``) in a sandboxed child process and return what
    happened. Cancelling the caller kills the child's process group; the temporary directory is
    removed in every case."""
    if network not in NETWORK_MODES:
        raise ValueError(f"network must be one of {', '.join(NETWORK_MODES)}, not {network!r}")
    problem = unstorable(inputs)
    if problem is not None:
        raise SandboxInputError(f"inputs are not JSON: {problem}")
    job = json.dumps({"code": source, "filename": filename, "inputs": inputs, "network": network, "limits": attrs.asdict(limits)}, default=dict)
    if not sys.executable:
        raise RuntimeError("no Python interpreter to run code steps with (sys.executable is empty)")
    workdir = tempfile.TemporaryDirectory(prefix="vrooli-code-", ignore_cleanup_errors=True)
    try:
        return await _run(job.encode(), limits, workdir.name, log_kib * 1024)
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(workdir.cleanup)


async def _run(job: bytes, limits: Limits, cwd: str, log_bytes: int) -> SandboxResult:
    command = [sys.executable, "-I", "-B", "-c", _CHILD]
    proc = await anyio.open_process(command, cwd=cwd, env=_clean_env(cwd), start_new_session=os.name == "posix")
    channel, log, log_done = bytearray(), bytearray(), anyio.Event()
    too_large = False
    try:
        with anyio.move_on_after(limits.wall_seconds) as wall:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_feed, proc.stdin, job)
                tg.start_soon(_tail, proc.stderr, log, log_bytes, log_done)
                assert proc.stdout is not None
                too_large = await _read(proc.stdout, channel, limits.output_mb * 2**20)
                if too_large:
                    _kill_group(proc)
                # The channel ends when the child exits; then end whatever it left running, whose
                # stderr would otherwise keep the log open.
                await proc.wait()
                _kill_group(proc)
                with anyio.move_on_after(_LOG_GRACE):
                    await log_done.wait()
                tg.cancel_scope.cancel()
    finally:
        _kill_group(proc)
        with anyio.CancelScope(shield=True):
            await proc.wait()
            await proc.aclose()
    log_text = bytes(log[-log_bytes:]).decode("utf-8", "replace")
    return _result(bytes(channel), log_text, proc.returncode, timed_out=wall.cancelled_caught, too_large=too_large, limits=limits)


async def _feed(stream: ByteSendStream | None, job: bytes) -> None:
    if stream is None:
        return
    try:
        await stream.send(job)
        await stream.aclose()
    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
        pass  # the child died before reading its job; its exit status says why


async def _tail(stream: ByteReceiveStream | None, log: bytearray, keep: int, done: anyio.Event) -> None:
    try:
        if stream is not None:
            async for chunk in stream:
                log += chunk
                if len(log) > 2 * keep:
                    del log[:-keep]
    finally:
        done.set()


async def _read(stream: ByteReceiveStream, into: bytearray, cap: int) -> bool:
    """Read the protocol channel to its end; ``True`` when it carried more than ``cap`` bytes."""
    async for chunk in stream:
        into += chunk
        if len(into) > cap:
            return True
    return False


def _kill_group(proc: Process) -> None:
    """SIGKILL the child's process group: the child and whatever it started that stayed in the group."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.returncode is None:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass  # the group is already empty


def _clean_env(cwd: str) -> dict[str, str]:
    """Only what Python and ordinary libraries need; nothing of the engine's own environment."""
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "HOME": cwd, "TMPDIR": cwd}
    if os.name == "nt":  # Windows cannot start Python without these
        env.update({k: os.environ[k] for k in ("SYSTEMROOT", "SYSTEMDRIVE") if k in os.environ})
        env.update(TEMP=cwd, TMP=cwd)
    return env


def _result(channel: bytes, log: str, returncode: int | None, *, timed_out: bool, too_large: bool, limits: Limits) -> SandboxResult:
    frames, garbled = [], False
    for line in [] if too_large else channel.splitlines():
        try:
            frames.append(json.loads(line))
        except ValueError:
            garbled = True
    # The child reports its isolation before the code runs, so only the first frame counts.
    ready = frames[0].get("ready") if frames and isinstance(frames[0], dict) else None
    if isinstance(ready, dict):
        isolation = Isolation(bool(ready.get("network_cut")), str(ready.get("network")), tuple(ready.get("limits") or ()))
    else:
        ready, isolation = None, Isolation()
    final = next((f for f in reversed(frames) if isinstance(f, dict) and ("ok" in f or "error" in f)), None)

    def fail(code: str, message: str, details: Mapping[str, Any] | None = None) -> SandboxResult:
        return SandboxResult(None, code, message, dict(details or {}), isolation, log, returncode)

    if too_large:
        return fail("invalid_output", f"the result is larger than {limits.output_mb} MiB")
    if final is not None and "ok" in final:
        return SandboxResult(final["ok"], None, "", {}, isolation, log, returncode)
    if final is not None:
        err = final["error"]
        return fail(str(err.get("code", "code_error")), str(err.get("message", "")), err.get("details"))
    if timed_out:
        return fail("wall_limit", f"the code ran longer than {limits.wall_seconds:g} s (wall clock) and was killed")
    if returncode == -getattr(signal, "SIGXCPU", 0):
        return fail("cpu_limit", f"the code used more than {limits.cpu_seconds:g} s of CPU time and was killed")
    if garbled:
        return fail("invalid_output", "the result channel carried something that is not JSON")
    if ready is None:
        return fail("crashed", f"the sandbox did not start (exit status {returncode}); log: {log[-500:]}")
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in {s.value for s in signal.Signals} else str(sig)
        why = " (the CPU hard limit, the OS's out-of-memory killer, or the code itself)" if name == "SIGKILL" else ""
        return fail("crashed", f"the code's process was killed by {name}{why} before returning a result")
    return fail("crashed", f"the code's process exited with status {returncode} before returning a result")


#: The child program. It runs before (and around) the user's code in the child process, stdlib only.
_CHILD = r'''
import json, os, sys

CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000
NET_ERRNOS = {101, 113, 99}  # ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL (Linux numbers)
MEMORY = b'{"error": {"code": "memory_limit", "message": "the code ran out of memory (limit %d MiB)"}}\n'


def send(fd, message):
    data = (json.dumps(message, allow_nan=False) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def unshare_call():
    if hasattr(os, "unshare"):
        return os.unshare
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def unshare(flags):
        if libc.unshare(flags) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    return unshare


def write(path, text):
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError:
        pass


def cut_network():
    if not sys.platform.startswith("linux"):
        return False, f"not cut: {sys.platform} has no network namespaces"
    uid, gid = os.getuid(), os.getgid()
    try:
        unshare = unshare_call()
    except (OSError, AttributeError) as exc:
        return False, f"not cut: unshare is unavailable ({exc})"
    try:
        unshare(CLONE_NEWNET)
        how = "cut: new network namespace"
    except OSError as first:
        try:
            unshare(CLONE_NEWUSER | CLONE_NEWNET)
        except OSError as exc:
            return False, f"not cut: unshare is not permitted here ({first.strerror}; with a user namespace: {exc.strerror})"
        write("/proc/self/setgroups", "deny")
        write("/proc/self/uid_map", f"{uid} {uid} 1")
        write("/proc/self/gid_map", f"{gid} {gid} 1")
        how = "cut: new user and network namespace"
    import socket
    try:
        names = sorted(name for _, name in socket.if_nameindex())
    except OSError as exc:
        return False, f"not verified: unshare succeeded but interfaces cannot be listed ({exc})"
    if names != ["lo"]:
        return False, f"not cut: interfaces {names} remain after unshare"
    return True, how + " (only a loopback interface, which is down)"


def set_limits(spec):
    try:
        import resource
    except ImportError:
        return []
    applied = []

    def cap(name, soft, hard=None):
        which = getattr(resource, name, None)
        if which is None:
            return
        hard = soft if hard is None else hard
        _, current = resource.getrlimit(which)
        if current != resource.RLIM_INFINITY:
            hard, soft = min(hard, current), min(soft, current)
        try:
            resource.setrlimit(which, (soft, hard))
            applied.append(name)
        except (ValueError, OSError):
            pass

    cpu = max(1, int(-(-spec["cpu_seconds"] // 1)))
    # SIGXCPU (which kills) at the soft limit; SIGKILL a second later if the code catches SIGXCPU.
    cap("RLIMIT_CPU", cpu, cpu + 1)
    cap("RLIMIT_AS", int(spec["memory_mb"] * 2**20))
    cap("RLIMIT_FSIZE", int(spec["file_mb"] * 2**20))
    cap("RLIMIT_NOFILE", int(spec["open_files"]))
    cap("RLIMIT_CORE", 0)
    return applied


def network_error(exc):
    import socket
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, socket.gaierror) or (isinstance(exc, OSError) and exc.errno in NET_ERRNOS):
            return True
        reason = getattr(exc, "reason", None)
        exc = reason if isinstance(reason, BaseException) else (exc.__cause__ or exc.__context__)
    return False


def failure(exc, filename, cut):
    import traceback
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    frames = [f for f in traceback.extract_tb(tb) if f.filename == filename]
    line = frames[-1].lineno if frames else getattr(exc, "lineno", None)
    lines = "".join(traceback.format_exception(type(exc), exc, tb, chain=False)).rstrip().splitlines()
    text = "\n".join(lines[-20:])
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    where = f" at line {line}" if line else ""
    if cut and network_error(exc):
        code, message = "network_denied", f"the code tried to reach the network, which is cut: {summary}{where}"
    elif isinstance(exc, SyntaxError) and not frames:
        code, message = "invalid_code", f"the code does not compile: {summary}"
    else:
        code, message = "code_error", f"the code raised {summary}{where}"
    return {"code": code, "message": message, "details": {"line": line, "traceback": text, "type": type(exc).__name__}}


def run():
    proto = os.dup(1)  # the parent's channel, private from here on (dup'ed descriptors are not inherited)
    os.dup2(2, 1)
    job = json.loads(sys.stdin.buffer.read())
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    memory_frame = MEMORY % job["limits"]["memory_mb"]
    cut, how = (False, "not cut: the step allows the network") if job["network"] == "allow" else cut_network()
    applied = set_limits(job["limits"])
    send(proto, {"ready": {"network_cut": cut, "network": how, "limits": applied}})
    if job["network"] == "required" and not cut:
        send(proto, {"error": {"code": "network_not_cut", "message": f"the step requires the network to be cut, and it was {how}"}})
        return
    source, filename = job["code"], job["filename"]
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "__sandbox__", "__file__": filename}
    returned = False
    try:
        exec(compile(source, filename, "exec"), namespace)
        main = namespace.get("main")
        if not callable(main):
            send(proto, {"error": {"code": "invalid_code", "message": "the code defines no main(inputs) function"}})
            return
        result = main(job.pop("inputs"))
        returned = True
        data = (json.dumps({"ok": result}, allow_nan=False) + "\n").encode()
    except MemoryError:
        data = None  # reported below, once the exception (and the frames it holds) is gone
    except (TypeError, ValueError, RecursionError) as exc:
        if returned:
            message = f"main() returned something that is not JSON ({type(exc).__name__}: {exc})"
            send(proto, {"error": {"code": "invalid_output", "message": message}})
        else:
            send(proto, {"error": failure(exc, filename, cut)})
        return
    except BaseException as exc:
        send(proto, {"error": failure(exc, filename, cut)})
        return
    if data is None:
        namespace.clear()
        result = None
        os.write(proto, memory_frame)
        return
    while data:
        data = data[os.write(proto, data):]

status = 0
try:
    run()
except BaseException:  # a failure of this program itself (the code's own failures are frames)
    import traceback
    traceback.print_exc()
    status = 1
try:
    sys.stdout.flush()
    sys.stderr.flush()
finally:
    os._exit(status)  # without waiting for threads the code left running
'''
