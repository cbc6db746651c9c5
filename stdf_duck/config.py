"""The configuration file `stdf-duck.toml`: archive, sources to sync, rules, workers, retries.

Found by `--config FILE`, else the environment variable STDF_DUCK_CONFIG, else ./stdf-duck.toml.
`load_config` validates everything and raises ConfigError listing every problem with its place
(`sources[1].url: ...`). Values may use `${NAME}` (or `${NAME:-default}`) for environment
variables; the values so obtained, and passwords written in URLs, are secrets: `Config.redact`
removes them from any text before it is printed, logged or written to the ledger.

Example (README "Sync from the testers' servers")::

    [archive]
    path = "/data/stdf-archive"          # relative paths: relative to this file

    [sync]
    download_workers = 4                 # parallel downloads
    workers = 2                          # files decoded and written in parallel
    stable_seconds = 30                  # a file must keep its size and mtime this long

    [retry]
    attempts = 5
    backoff_seconds = 2

    [[sources]]
    name = "floor1"
    url = "ftp://tester@ftp.floor1.example/outgoing"
    password = "${FLOOR1_FTP_PASSWORD}"
    include = ["*.std", "*.stdf", "*.std.*", "*.stdf.*"]   # .std/.stdf, plain or .gz .bz2 .zip .zst

    [[rules]]
    match = '^(?P<product>[^/]+)/(?P<stage>[^/]+)/'
    product = "{product}"
    stage = "{stage}"
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._errors import StdfDuckError

if TYPE_CHECKING:
    from .archive.model import MaterializeOptions

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_NAME",
    "Config",
    "ConfigError",
    "Rule",
    "SourceConfig",
    "find_config",
    "load_config",
]

CONFIG_ENV = "STDF_DUCK_CONFIG"
DEFAULT_NAME = "stdf-duck.toml"
SCHEMES = ("ftp", "ftps", "sftp", "s3", "file")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_MIR = re.compile(r"\{mir\.([a-z_]+)\}")


class ConfigError(StdfDuckError, ValueError):
    """The configuration file is missing or invalid; the message lists every problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(
            f"{path}: " + ("\n  ".join(problems) if len(problems) == 1 else "\n  " + "\n  ".join(problems))
        )


@dataclass
class SourceConfig:
    name: str
    url: str  # as written, with ${...} expanded (may hold a password: never print it, use .display)
    scheme: str  # ftp, ftps, sftp, s3, file (a local directory)
    host: str = ""
    port: int | None = None
    user: str | None = None
    password: str | None = None
    root: str = "/"  # directory on the server (or the local directory)
    include: list[str] = field(default_factory=lambda: ["*"])
    exclude: list[str] = field(default_factory=list)
    recursive: bool = True
    passive: bool = True
    product: str | None = None
    stage: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # extra fsspec storage options (sftp, s3)

    @property
    def display(self) -> str:
        """The URL without credentials: what logs, the ledger and `status` show."""
        if self.scheme == "file":
            return self.root
        netloc = self.host + (f":{self.port}" if self.port else "")
        return f"{self.scheme}://{netloc}{self.root if self.root.startswith('/') else '/' + self.root}"


@dataclass
class Rule:
    """Product / stage for files whose MIR lacks them: `match` (a regex searched in the path
    relative to the source root) selects the files and its named groups fill `{name}`;
    `{mir.FIELD}` takes a stdf_files column (e.g. `{mir.job_nam}`)."""

    source: str | None
    match: re.Pattern[str] | None
    product: str | None
    stage: str | None
    where: str = ""

    def apply(self, source: str, rel: str) -> tuple[str | None, str | None] | None:
        if self.source is not None and self.source != source:
            return None
        groups: dict[str, str] = {}
        if self.match is not None:
            m = self.match.search(rel)
            if m is None:
                return None
            groups = {k: v for k, v in m.groupdict().items() if v is not None}

        def fill(t: str | None) -> str | None:
            if t is None:
                return None
            return re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: groups.get(m.group(1), m.group(0)), t)

        return fill(self.product), fill(self.stage)


@dataclass
class Config:
    path: str
    archive: str
    on_error: str = "raise"
    sources: list[SourceConfig] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    workers: int | None = None
    download_workers: int = 4
    stable_seconds: float = 30.0
    keep_downloads: bool = False
    max_ratio: float = 200.0
    max_stream_mb: float = 65536.0
    attempts: int = 5
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 60.0
    secrets: list[str] = field(default_factory=list)

    def materialize_options(self, retry_failed: bool = False) -> MaterializeOptions:
        """How a sync writes the files it fetched (workers and on_error of this file)."""
        from .archive.model import MaterializeOptions

        return MaterializeOptions(workers=self.workers, on_error=self.on_error, retry_failed=retry_failed)

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(self.path, [f"no source named {name!r} (sources: {known})"])

    def redact(self, text: str) -> str:
        """`text` with every secret (as written and URL-quoted) replaced by *** (see `redact`)."""
        return redact(text, self.secrets)

    def defaults_for(self, source: SourceConfig, rel: str) -> tuple[str | None, str | None]:
        """(product, stage) used where the MIR lacks them: the first rule that gives each,
        then the source's own product / stage."""
        product, stage = None, None
        for r in self.rules:
            got = r.apply(source.name, rel)
            if got is None:
                continue
            product = product if product is not None else got[0]
            stage = stage if stage is not None else got[1]
        return (product if product is not None else source.product, stage if stage is not None else source.stage)


#: a secret at least this long is removed wherever it appears; a shorter one only where it stands
#: alone (not inside a word, a dotted host name or before "://"), so "ex" spares ftp.example.com
REDACT_ANYWHERE = 8
_WORD = "A-Za-z0-9_"


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret replaced by ***. A secret goes into URLs (userinfo, raw or
    percent-quoted) and error messages, where it stands alone between delimiters (`:`, `@`,
    quotes, spaces); a short secret is therefore replaced only there, never inside a host name."""
    forms = {f for s in secrets if s for f in (s, urllib.parse.quote(s, safe=""))}
    for f in sorted(forms, key=len, reverse=True):
        if len(f) >= REDACT_ANYWHERE:
            text = text.replace(f, "***")
        else:
            alone = (
                rf"(?<![{_WORD}])(?<![{_WORD}][.-]){re.escape(f)}"
                rf"(?![{_WORD}])(?![.-][{_WORD}])(?!://)"
            )
            text = re.sub(alone, "***", text)
    return text


def find_config(path: str | None = None) -> str:
    """The configuration file to use: `path`, else $STDF_DUCK_CONFIG, else ./stdf-duck.toml."""
    p = path or os.environ.get(CONFIG_ENV) or DEFAULT_NAME
    if not os.path.isfile(p):
        how = "--config" if path else (CONFIG_ENV if os.environ.get(CONFIG_ENV) else f"./{DEFAULT_NAME}")
        raise ConfigError(p, [f"configuration file not found (from {how}); see `stdf-duck config example`"])
    return os.path.abspath(p)


# ---- validation --------------------------------------------------------------------------------

_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "": {"archive": dict, "sync": dict, "retry": dict, "sources": list, "rules": list},
    "archive": {"path": str, "on_error": str},
    "sync": {
        "workers": int,
        "download_workers": int,
        "stable_seconds": (int, float),
        "keep_downloads": bool,
        "max_ratio": (int, float),
        "max_stream_mb": (int, float),
    },
    "retry": {
        "attempts": int,
        "backoff_seconds": (int, float),
        "max_backoff_seconds": (int, float),
        "timeout_seconds": (int, float),
    },
    "sources": {
        "name": str,
        "url": str,
        "user": str,
        "password": str,
        "include": list,
        "exclude": list,
        "recursive": bool,
        "passive": bool,
        "product": str,
        "stage": str,
        "options": dict,
    },
    "rules": {"source": str, "match": str, "product": str, "stage": str},
}
_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    dict: "a table",
    list: "an array",
    (int, float): "a number",
}


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []
        self.secrets: list[str] = []

    def fail(self, where: str, msg: str) -> None:
        self.problems.append(f"{where}: {msg}" if where else msg)

    def table(self, where: str, kind: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where, "must be a table")
            return {}
        spec = _KEYS[kind]
        out: dict[str, Any] = {}
        for k, v in value.items():
            at = f"{where}.{k}" if where else k
            if k not in spec:
                close = difflib.get_close_matches(k, list(spec), n=1)
                self.fail(
                    at, "unknown key" + (f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(spec)}")
                )
                continue
            t = spec[k]
            ok = isinstance(v, t) and not (t in (int, (int, float)) and isinstance(v, bool))
            if not ok:
                self.fail(at, f"must be {_TYPE_NAMES.get(t, str(t))}, not {type(v).__name__} {v!r}")
                continue
            out[k] = v
        return out

    def expand(self, where: str, value: str) -> str:
        """${NAME} and ${NAME:-default} from the environment; the values are secrets."""

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            v = os.environ.get(name)
            if v is None:
                if default is None:
                    self.fail(where, f"environment variable {name} is not set")
                    return ""
                v = default
            if v:
                self.secrets.append(v)
            return v

        if "${" in value:
            out = _VAR.sub(sub, value)
            if "${" in _VAR.sub("", value):
                self.fail(where, "malformed ${...}: write ${NAME} or ${NAME:-default}")
            return out
        return value

    def positive(self, where: str, v: float, zero_ok: bool = False) -> None:
        if v < 0 or (v == 0 and not zero_ok):
            self.fail(where, f"must be {'>= 0' if zero_ok else '> 0'}, not {v}")


def _globs(ck: _Checker, where: str, v: list[Any]) -> list[str]:
    out = []
    for i, g in enumerate(v):
        if not isinstance(g, str) or not g:
            ck.fail(f"{where}[{i}]", "must be a non-empty glob string")
        else:
            out.append(g)
    return out


def _source(ck: _Checker, where: str, d: dict[str, Any], base: str) -> SourceConfig | None:
    name = d.get("name")
    url = d.get("url")
    if name is None:
        ck.fail(where, "missing key 'name'")
    elif not _NAME.match(name):
        ck.fail(f"{where}.name", f"{name!r} is not a valid name (letters, digits, '_', '.', '-'; at most 64)")
    if url is None:
        ck.fail(where, "missing key 'url'")
        return None
    url = ck.expand(f"{where}.url", url)
    user = ck.expand(f"{where}.user", d["user"]) if "user" in d else None
    password = ck.expand(f"{where}.password", d["password"]) if "password" in d else None
    src = SourceConfig(name=name or "?", url=url, scheme="file")
    if "://" not in url:  # a local directory
        src.root = os.path.normpath(os.path.join(base, os.path.expanduser(url)))
    else:
        u = urllib.parse.urlsplit(url)
        scheme = u.scheme.lower()
        if scheme not in SCHEMES:
            ck.fail(f"{where}.url", f"unsupported scheme {u.scheme!r} (use ftp, ftps, sftp, s3, file, or a directory)")
            return None
        src.scheme = scheme
        try:
            src.port = u.port
        except ValueError as e:
            ck.fail(f"{where}.url", f"bad port: {e}")
        src.host = u.hostname or ""
        if u.password:
            ck.secrets.append(u.password)
            ck.secrets.append(urllib.parse.unquote(u.password))
        src.user = user if user is not None else (urllib.parse.unquote(u.username) if u.username else None)
        password = password if password is not None else (urllib.parse.unquote(u.password) if u.password else None)
        root = urllib.parse.unquote(u.path) or "/"
        if scheme == "file":
            src.root = os.path.normpath(os.path.join(base, os.path.expanduser(root)))
        elif scheme == "s3":
            if not src.host:
                ck.fail(f"{where}.url", "an s3 URL needs a bucket: s3://BUCKET/prefix")
            src.root = root
        else:
            if not src.host:
                ck.fail(f"{where}.url", f"a {scheme} URL needs a host: {scheme}://[user@]host[:port]/directory")
            src.root = root
        if u.query or u.fragment:
            ck.fail(f"{where}.url", "a query (?...) or fragment (#...) is not supported; use the source's options")
    if password:
        ck.secrets.append(password)
    src.password = password
    if "password" in d and "${" not in d["password"]:
        ck.fail(f"{where}.password", "write the password as ${ENV_VAR}: a config file must not hold secrets")
    if u_pw := (urllib.parse.urlsplit(d["url"]).password if "://" in d["url"] else None):
        if "${" not in u_pw:
            ck.fail(f"{where}.url", "the URL holds a password: write it as ${ENV_VAR} or use the password key")
    src.include = _globs(ck, f"{where}.include", d.get("include", ["*"]))
    src.exclude = _globs(ck, f"{where}.exclude", d.get("exclude", []))
    src.recursive = d.get("recursive", True)
    src.passive = d.get("passive", True)
    src.product = d.get("product")
    src.stage = d.get("stage")
    opts = d.get("options", {})
    src.options = {k: ck.expand(f"{where}.options.{k}", v) if isinstance(v, str) else v for k, v in opts.items()}
    hkp = src.options.get("host_key_policy")
    if hkp is not None and hkp not in ("auto_add", "known_hosts"):
        ck.fail(f"{where}.options.host_key_policy", f"must be 'known_hosts' (the default) or 'auto_add', not {hkp!r}")
    if src.scheme in ("sftp", "s3"):
        mod = {"sftp": "paramiko", "s3": "s3fs"}[src.scheme]
        try:
            __import__(mod)
        except ImportError:
            ck.fail(f"{where}.url", f"{src.scheme} needs the package {mod}: pip install 'stdf-duck[{src.scheme}]'")
    return src


def _rule(ck: _Checker, where: str, d: dict[str, Any], names: set[str]) -> Rule | None:
    src = d.get("source")
    if src is not None and src not in names:
        ck.fail(f"{where}.source", f"no source named {src!r}")
    rx = None
    if "match" in d:
        try:
            rx = re.compile(d["match"])
        except re.error as e:
            ck.fail(f"{where}.match", f"bad regular expression: {e}")
            return None
    if "product" not in d and "stage" not in d:
        ck.fail(where, "a rule needs 'product' or 'stage' (or both)")
    for k in ("product", "stage"):
        t = d.get(k)
        if t is None:
            continue
        for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}", t):
            ref = m.group(1)
            if ref.startswith("mir."):
                continue
            if rx is None or ref not in rx.groupindex:
                ck.fail(f"{where}.{k}", f"{{{ref}}} is not a named group of 'match' (or write {{mir.FIELD}})")
    return Rule(src, rx, d.get("product"), d.get("stage"), where)


def load_config(path: str | None = None) -> Config:
    """Read and validate the configuration file (see the module doc)."""
    p = find_config(path)
    try:
        with open(p, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(p, [f"not valid TOML: {e}"]) from None
    except OSError as e:
        raise ConfigError(p, [f"cannot read: {e.strerror or e}"]) from None
    return parse_config(raw, p)


def parse_config(raw: dict[str, Any], path: str) -> Config:
    ck = _Checker(path)
    base = os.path.dirname(os.path.abspath(path))
    top = ck.table("", "", raw)
    arch = ck.table("archive", "archive", top.get("archive", {}))
    sync = ck.table("sync", "sync", top.get("sync", {}))
    retry = ck.table("retry", "retry", top.get("retry", {}))
    cfg = Config(path=path, archive="")
    if "path" not in arch:
        ck.fail("archive", "missing key 'path' (the archive directory)")
    else:
        cfg.archive = os.path.normpath(os.path.join(base, os.path.expanduser(ck.expand("archive.path", arch["path"]))))
    cfg.on_error = arch.get("on_error", "raise")
    if cfg.on_error not in ("raise", "warn"):
        ck.fail("archive.on_error", f"must be 'raise' or 'warn', not {cfg.on_error!r}")
    for k in ("workers", "download_workers"):
        if k in sync:
            ck.positive(f"sync.{k}", sync[k])
            setattr(cfg, k, sync[k])
    for k in ("stable_seconds", "max_ratio", "max_stream_mb"):
        if k in sync:
            ck.positive(f"sync.{k}", sync[k], zero_ok=k == "stable_seconds")
            setattr(cfg, k, float(sync[k]))
    cfg.keep_downloads = sync.get("keep_downloads", False)
    if "attempts" in retry:
        ck.positive("retry.attempts", retry["attempts"])
        cfg.attempts = retry["attempts"]
    for k in ("backoff_seconds", "max_backoff_seconds", "timeout_seconds"):
        if k in retry:
            ck.positive(f"retry.{k}", retry[k], zero_ok=k != "timeout_seconds")
            setattr(cfg, k, float(retry[k]))
    sources = top.get("sources", [])
    if not sources:
        ck.fail("sources", "no source: add a [[sources]] table with a name and a url")
    names: set[str] = set()
    for i, s in enumerate(sources):
        where = f"sources[{i}]"
        d = ck.table(where, "sources", s)
        name = d.get("name")
        if name is not None:
            if name in names:
                ck.fail(f"{where}.name", f"duplicate source name {name!r}")
            names.add(name)
        src = _source(ck, where, d, base)
        if src is not None:
            cfg.sources.append(src)
    for i, r in enumerate(top.get("rules", [])):
        where = f"rules[{i}]"
        rule = _rule(ck, where, ck.table(where, "rules", r), names)
        if rule is not None:
            cfg.rules.append(rule)
    cfg.secrets = sorted(set(ck.secrets))
    if ck.problems:
        raise ConfigError(path, ck.problems)
    return cfg


def fill_mir(template: str | None, row: dict[str, Any]) -> str | None:
    """`{mir.FIELD}` in a rule's product / stage -> the stdf_files value (empty when absent)."""
    if template is None or "{mir." not in template:
        return template

    def sub(m: re.Match[str]) -> str:
        v = row.get(m.group(1))
        return "" if v is None else str(v).strip()

    return _MIR.sub(sub, template)
