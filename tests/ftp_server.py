"""A real FTP server on loopback (pyftpdlib) for the sync tests and the sync benchmark.

    with FtpServer(root, user="tester", password="s3cret") as srv:
        srv.url  ->  ftp://tester@127.0.0.1:PORT/

Fault injection, per server: `drop_after[name] = n` closes the data connection of the next
download of `name` after n bytes (once); `throttle` limits the bytes/s of every download;
`commands` records every command received (REST offsets included).

Run as a script (the benchmark): python tests/ftp_server.py ROOT PORT_FILE [USER PASSWORD]
serves ROOT until killed and writes its port to PORT_FILE.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.servers import FTPServer, ThreadedFTPServer


class FtpServer:
    def __init__(
        self,
        root: str,
        user: str = "tester",
        password: str = "s3cret",
        threaded: bool = False,
        certfile: str | None = None,
    ) -> None:
        self.root = root
        self.certfile = certfile  # FTPS (explicit TLS, control and data encrypted) with this cert + key
        self.no_mlsd = False  # an old server: no MLSD / MLST (clients fall back to NLST, SIZE, MDTM)
        self.user = user
        self.password = password
        self.drop_after: dict[str, int] = {}
        self.throttle: float = 0.0  # bytes per second, 0: unlimited
        self.commands: list[str] = []
        self.threaded = threaded
        self._lock = threading.Lock()
        self.server: Any = None
        self.thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server.socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"{'ftps' if self.certfile else 'ftp'}://{self.user}@127.0.0.1:{self.port}/"

    def _handler(self) -> Any:
        srv = self
        dtp_base: Any = DTPHandler
        ctl_base: Any = FTPHandler
        if self.certfile:
            from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

            dtp_base, ctl_base = TLS_DTPHandler, TLS_FTPHandler

        class Data(dtp_base):  # type: ignore[misc,valid-type]
            def __init__(self, sock: Any, cmd_channel: Any) -> None:
                super().__init__(sock, cmd_channel)
                self._sent = 0
                self._limit: int | None = None
                self._looked = False

            def send(self, data: bytes) -> int:
                if not self._looked:  # the RETR comes after the data connection is set up
                    self._looked = True
                    name = os.path.basename(getattr(self.cmd_channel, "_stdf_file", "") or "")
                    with srv._lock:
                        if name in srv.drop_after:
                            self._limit = srv.drop_after.pop(name)
                if self._limit is not None and self._sent + len(data) > self._limit:
                    data = data[: max(self._limit - self._sent, 0)]
                    if data:
                        super().send(data)
                    self._sent = self._limit
                    self.close()  # the connection drops mid-transfer
                    return 0
                if srv.throttle:  # small pieces, evenly spaced (the rest is sent on the next call)
                    data = data[:2048]
                    time.sleep(len(data) / srv.throttle)
                n = int(super().send(data))
                self._sent += n
                return n

        class Handler(ctl_base):  # type: ignore[misc,valid-type]
            dtp_handler = Data
            use_sendfile = False
            timeout = 30

            def pre_process_command(self, line: str, cmd: str, arg: str) -> Any:
                with srv._lock:
                    srv.commands.append(line if cmd != "PASS" else "PASS ***")
                if srv.no_mlsd and cmd in ("MLSD", "MLST"):
                    self.respond(f"500 Command {cmd} not understood.")
                    return None
                if cmd == "RETR":
                    self._stdf_file = arg
                return super().pre_process_command(line, cmd, arg)

        auth = DummyAuthorizer()
        auth.add_user(self.user, self.password, self.root, perm="elr")
        Handler.authorizer = auth
        Handler.banner = "stdf-duck test server"
        if self.certfile:
            Handler.certfile = self.certfile
            Handler.tls_control_required = True
            Handler.tls_data_required = True
        return Handler

    def start(self) -> FtpServer:
        import logging

        logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
        cls = ThreadedFTPServer if self.threaded else FTPServer
        self.server = cls(("127.0.0.1", 0), self._handler())
        self.server.max_cons = 256
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"timeout": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.close_all()
            if self.thread is not None:
                self.thread.join(5)
            self.server = None

    def __enter__(self) -> FtpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


if __name__ == "__main__":
    root, port_file = sys.argv[1], sys.argv[2]
    user, password = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else ("tester", "s3cret")
    s = FtpServer(root, user, password, threaded=True).start()
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(s.port))
    os.replace(tmp, port_file)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s.stop()
