"""A real SFTP server on loopback (asyncssh) for the sync tests: password login, chrooted to
`root`, a fresh ed25519 host key (`known_hosts_line` for the client's known_hosts file)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import asyncssh


class _Server(asyncssh.SSHServer):  # type: ignore[misc]
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.user and password == self.password


class SftpServer:
    def __init__(self, root: str, user: str = "tester", password: str = "s3cret") -> None:
        self.root, self.user, self.password = root, user, password
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.key: Any = None
        self.server: Any = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}/"

    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.key.export_public_key('openssh').decode().strip()}\n"

    def start(self) -> SftpServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            self.key = asyncssh.generate_private_key("ssh-ed25519")
            self.server = await asyncssh.create_server(
                lambda: _Server(self.user, self.password),
                "127.0.0.1",
                0,
                server_host_keys=[self.key],
                sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=self.root),
            )
            self.port = self.server.sockets[0].getsockname()[1]

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(main())
            except BaseException as e:  # pragma: no cover
                errors.append(e)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.thread is not None:
            self.thread.join(5)

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
