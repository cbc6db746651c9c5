"""Where `stdf-duck sync` finds files: FTP/FTPS (the standard library's ftplib), SFTP and S3
(fsspec with paramiko / s3fs), and local directories. No protocol is implemented here: this module
only lists, stats and downloads through those libraries, with resume from a byte offset.

Every remote name is checked by `safe_relpath` before it is used to build a local path: a name
that would leave the staging area (`..`, an absolute path, a backslash, a control character) is
rejected with UnsafeNameError.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import fnmatch
import ftplib
import logging
import os
import posixpath
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from .._errors import PermanentError, UnsafeNameError
from ..config import SourceConfig

log = logging.getLogger("stdf_duck.sync")

__all__ = [
    "PermanentError",
    "Remote",
    "RemoteFile",
    "UnsafeNameError",
    "matches",
    "not_transient",
    "open_remote",
    "safe_relpath",
]


@dataclass(frozen=True)
class RemoteFile:
    rel: str  # path relative to the source root, '/'-separated (checked by safe_relpath)
    size: int
    mtime_ns: int  # modification time, ns since the epoch (UTC); 0 when the server does not tell


def safe_relpath(name: str) -> str:
    """`name` as a relative '/'-separated path that stays inside any directory it is joined to;
    UnsafeNameError for anything else."""
    if not name or "\x00" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UnsafeNameError(f"unsafe remote name {name!r}: empty or control characters")
    if "\\" in name:
        raise UnsafeNameError(f"unsafe remote name {name!r}: backslash")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UnsafeNameError(f"unsafe remote name {name!r}: absolute path")
    parts = name.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafeNameError(f"unsafe remote name {name!r}: '..', '.' or empty path component")
    return "/".join(parts)


def matches(rel: str, include: list[str], exclude: list[str]) -> bool:
    """Globs match the base name, or the whole relative path when they contain '/'."""
    base = posixpath.basename(rel)

    def m(g: str) -> bool:
        return fnmatch.fnmatchcase(rel if "/" in g else base, g)

    return any(m(g) for g in include) and not any(m(g) for g in exclude)


class Remote(Protocol):
    in_place: bool  # True: files are read where they are (LocalRemote.local_path), never downloaded

    def list(self) -> list[tuple[str, int, int]]:
        """Every file under the root: (name relative to the root, size, mtime_ns); names unchecked."""

    def stat(self, rel: str) -> RemoteFile | None:
        """The file now (None when it is gone)."""

    def download(self, rel: str, local: str, offset: int, on_bytes: Callable[[int], None]) -> None:
        """Append the remote bytes from `offset` on to `local` (which holds `offset` bytes)."""

    def close(self) -> None: ...


def _join(root: str, rel: str) -> str:
    return posixpath.join(root or "/", rel)


# ---- FTP / FTPS (ftplib) -------------------------------------------------------------------------


def _mdtm(value: str) -> int:
    """An FTP time value (YYYYMMDDHHMMSS[.fff], UTC) -> ns since the epoch."""
    v = value.strip()
    main, _, frac = v.partition(".")
    t = time.strptime(main[:14], "%Y%m%d%H%M%S")
    ns = calendar.timegm(t) * 1_000_000_000
    if frac.isdigit():
        ns += int((frac + "000000000")[:9])
    return ns


class FtpRemote:
    in_place = False

    def __init__(self, src: SourceConfig, timeout: float) -> None:
        self.src = src
        self.timeout = timeout
        self.ftp: ftplib.FTP | None = None
        self._mlsd = True

    def _conn(self) -> ftplib.FTP:
        if self.ftp is not None:
            return self.ftp
        src = self.src
        ftp: ftplib.FTP
        if src.scheme == "ftps":
            ctx = ssl.create_default_context(cafile=src.options.get("ca_file"))
            if src.options.get("verify_tls") is False:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            ftp = ftplib.FTP_TLS(context=ctx, timeout=self.timeout)
        else:
            ftp = ftplib.FTP(timeout=self.timeout)
        try:
            try:
                ftp.connect(src.host, src.port or 21)
                if isinstance(ftp, ftplib.FTP_TLS):
                    ftp.auth()
            except ssl.SSLCertVerificationError as e:
                raise PermanentError(f"TLS: {e.verify_message or e} (give the CA with options.ca_file)") from None
            try:
                ftp.login(src.user or "anonymous", src.password or "")
            except ftplib.error_perm as e:
                raise PermanentError(f"login as {src.user or 'anonymous'} refused: {str(e).strip()}") from None
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(src.passive)
            ftp.voidcmd("TYPE I")
        except BaseException:
            try:
                ftp.close()
            except Exception:
                pass
            raise
        self.ftp = ftp
        return ftp

    def close(self) -> None:
        if self.ftp is not None:
            try:
                self.ftp.quit()
            except Exception:
                try:
                    self.ftp.close()
                except Exception:
                    pass
            self.ftp = None

    def _walk(self, ftp: ftplib.FTP, d: str, rel: str, out: list[tuple[str, int, int]], depth: int) -> None:
        if depth > 64:
            return
        entries: list[tuple[str, dict[str, str]]]
        if self._mlsd:
            try:
                entries = list(ftp.mlsd(d, facts=["type", "size", "modify"]))
            except ftplib.error_perm as e:
                if str(e)[:3] in ("500", "501", "502", "504"):  # MLSD unknown: NLST + SIZE + MDTM
                    self._mlsd = False
                    return self._walk(ftp, d, rel, out, depth)
                raise PermanentError(f"cannot list {d}: {str(e).strip()}") from None
        else:
            try:
                names = ftp.nlst(d)
            except ftplib.error_perm as e:
                raise PermanentError(f"cannot list {d}: {str(e).strip()}") from None
            ftp.voidcmd("TYPE I")  # SIZE is refused in ASCII mode, which NLST left behind
            entries = []
            for full in names:
                name = posixpath.basename(full.rstrip("/")) if full.startswith("/") or "/" in full else full
                try:
                    size = ftp.size(_join(d, name))
                    facts = {"type": "file", "size": str(size or 0)}
                    try:
                        facts["modify"] = ftp.voidcmd(f"MDTM {_join(d, name)}")[4:].strip()
                    except ftplib.error_perm:
                        pass
                except ftplib.error_perm:
                    facts = {"type": "dir"}
                entries.append((name, facts))
        for name, facts in entries:
            kind = facts.get("type", "file").lower()
            r = f"{rel}/{name}" if rel else name
            if kind in ("cdir", "pdir") or name in (".", ".."):
                if name not in (".", ".."):
                    out.append((r, -1, 0))  # let safe_relpath reject it
                continue
            if kind == "dir":
                if self.src.recursive:
                    try:
                        safe_relpath(r)
                    except UnsafeNameError:
                        out.append((r, -1, 0))
                        continue
                    try:
                        self._walk(ftp, _join(d, name), r, out, depth + 1)
                    except PermanentError as e:  # an unreadable folder: the rest is still listed
                        log.warning("%s: %s", self.src.name, e)
                continue
            if kind != "file":
                continue
            mt = facts.get("modify")
            out.append((r, int(facts.get("size") or 0), _mdtm(mt) if mt else 0))
        return None

    def list(self) -> list[tuple[str, int, int]]:
        out: list[tuple[str, int, int]] = []
        self._walk(self._conn(), self.src.root, "", out, 0)
        return out

    def stat(self, rel: str) -> RemoteFile | None:
        ftp = self._conn()
        path = _join(self.src.root, rel)
        try:
            resp = ftp.sendcmd(f"MLST {path}")
            facts: dict[str, str] = {}
            for line in resp.splitlines()[1:-1]:
                for fact in line.strip().split(";"):
                    k, _, v = fact.partition("=")
                    if v:
                        facts[k.strip().lower()] = v
            if facts:
                mt = facts.get("modify")
                return RemoteFile(rel, int(facts.get("size", 0)), _mdtm(mt) if mt else 0)
        except ftplib.error_perm as e:
            if str(e)[:3] == "550":
                return None
        try:
            ftp.voidcmd("TYPE I")
            size = ftp.size(path)
        except ftplib.error_perm:
            return None
        try:
            mt_ns = _mdtm(ftp.voidcmd(f"MDTM {path}")[4:])
        except ftplib.error_perm:
            mt_ns = 0
        return RemoteFile(rel, int(size or 0), mt_ns)

    def download(self, rel: str, local: str, offset: int, on_bytes: Callable[[int], None]) -> None:
        ftp = self._conn()
        with open(local, "r+b" if offset else "wb") as f:
            f.seek(offset)
            f.truncate()

            def write(block: bytes) -> None:
                f.write(block)
                on_bytes(len(block))

            try:
                ftp.retrbinary(f"RETR {_join(self.src.root, rel)}", write, blocksize=1 << 20, rest=offset or None)
            except ftplib.error_perm as e:
                raise PermanentError(f"cannot download: {str(e).strip()}") from None


# ---- SFTP / S3 (fsspec) --------------------------------------------------------------------------


def _ns(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, _dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=_dt.UTC)
        return int(v.timestamp() * 1e9)
    if isinstance(v, (int, float)):
        return int(float(v) * 1e9)
    try:
        return int(_dt.datetime.fromisoformat(str(v)).timestamp() * 1e9)
    except ValueError:
        return 0


class FsspecRemote:
    """Any fsspec file system: sftp (paramiko), s3 (s3fs), memory and local (tests). One instance
    per thread (fsspec's instance cache is skipped), connected on first use."""

    in_place = False

    def __init__(self, src: SourceConfig, timeout: float, fs: Any = None) -> None:
        self.src = src
        self.timeout = timeout
        self._given = fs is not None
        self._fs: Any = fs
        self.base = (src.host + src.root if src.scheme == "s3" else src.root).rstrip("/") or "/"

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = self._connect()
        return self._fs

    def _connect(self) -> Any:
        import fsspec

        src = self.src
        opts = dict(src.options)
        if src.scheme != "sftp":
            return fsspec.filesystem(src.scheme, skip_instance_cache=True, **opts)
        import paramiko

        opts.setdefault("timeout", self.timeout)
        opts.setdefault("banner_timeout", self.timeout)
        opts.setdefault("auth_timeout", self.timeout)
        if src.port:
            opts.setdefault("port", src.port)
        if src.user:
            opts.setdefault("username", src.user)
        if src.password:
            opts.setdefault("password", src.password)
            opts.setdefault("look_for_keys", False)
            opts.setdefault("allow_agent", False)
        policy = opts.pop("host_key_policy", None)
        known = os.path.expanduser(str(opts.pop("known_hosts", "~/.ssh/known_hosts")))
        opts["host_key_policy"] = "auto_add" if policy == "auto_add" else KnownHostsPolicy(known)
        try:
            return fsspec.filesystem("sftp", host=src.host, skip_instance_cache=True, **opts)
        except paramiko.AuthenticationException as e:
            raise PermanentError(f"login as {src.user or '?'} refused: {e}") from None
        except paramiko.SSHException as e:
            if "host key" in str(e):
                raise PermanentError(str(e)) from None
            raise ConnectionError(f"ssh: {e}") from None

    def close(self) -> None:
        if self._fs is not None and not self._given:
            client = getattr(self._fs, "client", None)
            if client is not None:
                try:
                    client.close()
                except Exception:
                    pass
            self._fs = None

    def _rel(self, path: str) -> str:
        p = path if path.startswith("/") or not self.base.startswith("/") else "/" + path
        return posixpath.relpath(p, self.base) if self.base != "/" else p.lstrip("/")

    def list(self) -> list[tuple[str, int, int]]:
        found = self.fs.find(self.base, maxdepth=None if self.src.recursive else 1, withdirs=False, detail=True)
        out = []
        for path, info in sorted(found.items()):
            if info.get("type", "file") != "file":
                continue
            mt = info.get("mtime", info.get("LastModified", info.get("last_modified", info.get("created"))))
            out.append((self._rel(path), int(info.get("size") or 0), _ns(mt)))
        return out

    def stat(self, rel: str) -> RemoteFile | None:
        try:
            info = self.fs.info(_join(self.base, rel))
        except FileNotFoundError:
            return None
        mt = info.get("mtime", info.get("LastModified", info.get("last_modified", info.get("created"))))
        return RemoteFile(rel, int(info.get("size") or 0), _ns(mt))

    def download(self, rel: str, local: str, offset: int, on_bytes: Callable[[int], None]) -> None:
        try:
            src = self.fs.open(_join(self.base, rel), "rb")
        except (FileNotFoundError, PermissionError) as e:
            raise PermanentError(f"cannot download: {e}") from None
        with src, open(local, "r+b" if offset else "wb") as f:
            f.seek(offset)
            f.truncate()
            if offset:
                src.seek(offset)
            while True:
                block = src.read(1 << 20)
                if not block:
                    break
                f.write(block)
                on_bytes(len(block))


def KnownHostsPolicy(path: str) -> Any:
    """A paramiko host-key policy: the server's key must be in the known_hosts file `path`
    (what `ssh` would accept); anything else refuses the connection before a password is sent."""
    import paramiko

    class _Policy(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]
        def missing_host_key(self, client: Any, hostname: str, key: Any) -> None:
            keys = paramiko.HostKeys()
            try:
                keys.load(path)
            except FileNotFoundError:
                pass
            entry = keys.lookup(hostname)
            if entry is not None and key.get_name() in entry and entry[key.get_name()] == key:
                return
            host, _, port = hostname.strip("[").partition("]:")
            scan = f"ssh-keyscan {'-p ' + port + ' ' if port else ''}{host} >> {path}"
            raise paramiko.SSHException(
                f"the host key of {hostname} ({key.get_name()}) is not in {path}: after checking it, add it with "
                f"`{scan}`, or set the source's options.host_key_policy = 'auto_add'"
            )

    return _Policy()


# ---- local directories (read in place) -----------------------------------------------------------


class LocalRemote:
    in_place = True

    def __init__(self, src: SourceConfig) -> None:
        self.src = src
        if not os.path.isdir(src.root):
            raise PermanentError(f"no such directory: {src.root}")

    def close(self) -> None:
        pass

    def _walk(self) -> Iterator[str]:
        root = self.src.root
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(x for x in dirs if not x.startswith(".")) if self.src.recursive else []
            for name in sorted(files):
                if not name.startswith("."):
                    yield os.path.relpath(os.path.join(d, name), root).replace(os.sep, "/")

    def list(self) -> list[tuple[str, int, int]]:
        out = []
        for rel in self._walk():
            try:
                st = os.stat(os.path.join(self.src.root, rel))
            except OSError:
                continue
            out.append((rel, st.st_size, st.st_mtime_ns))
        return out

    def stat(self, rel: str) -> RemoteFile | None:
        try:
            st = os.stat(self.local_path(rel))
        except OSError:
            return None
        return RemoteFile(rel, st.st_size, st.st_mtime_ns)

    def local_path(self, rel: str) -> str:
        return os.path.realpath(os.path.join(self.src.root, *rel.split("/")))

    def download(self, rel: str, local: str, offset: int, on_bytes: Callable[[int], None]) -> None:  # pragma: no cover
        raise PermanentError("a local directory is read in place")


def open_remote(src: SourceConfig, timeout: float) -> Remote:
    if src.scheme == "file":
        return LocalRemote(src)
    if src.scheme in ("ftp", "ftps"):
        return FtpRemote(src, timeout)
    return FsspecRemote(src, timeout)


#: errors worth a retry (the connection, not the file)
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,  # socket errors, timeouts (socket.timeout included), ConnectionResetError, ssl.SSLError
    EOFError,
    ftplib.error_temp,
    ftplib.error_reply,
    ftplib.error_proto,
)


def not_transient(e: BaseException, src: SourceConfig) -> PermanentError | None:
    """The PermanentError an error of a TRANSIENT type really is, else None. A host name that does
    not resolve (socket.gaierror, an OSError) is a wrong URL or a missing network: waiting and
    retrying five times does not fix it, in a dry run or not; the next sync tries again."""
    if isinstance(e, socket.gaierror):
        why = e.strerror or str(e)
        return PermanentError(f"cannot resolve the host name {src.host!r} ({why}): check the source's url and the DNS")
    return None
