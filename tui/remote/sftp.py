"""Provides SFTPFS, the RemoteFS for ``sftp://`` sites, and the SFTP backend's session factory.

The transport is the user's own OpenSSH client (``tui.remote.sshchannel.open_channel``: it
judges the host key through the trust policy and asks for passwords through its askpass
bridge); this module speaks SFTP v3 over its pipes with the pipelined ``SFTPClient``.
``SFTPFS`` takes any channel with ``stdin``/``stdout``/``close()``/``failure()``, so the
tests also run it over OpenSSH's ``sftp-server`` on pipes.

Names are bytes on the wire; they are decoded with the site's charset and
``surrogateescape`` like FTP names and sent back byte for byte. Links are shown as links
(``LSTAT``, and ``READLINK`` for their targets, all in one round trip) and followed when
opened, as the FTP backend does. Not thread-safe: one session serves one thread at a time.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import datetime

from tui.errors import (
    ConnectionLost,
    FerrymanError,
    InvalidName,
    ListingFailed,
    NotFound,
    NotSupported,
    PermissionDenied,
    ProtocolError,
    UsageError,
)
from tui.identity import SSH_HOST_KEY, PeerIdentity
from tui.remote import sftpwire as wire
from tui.remote.base import (
    Capabilities,
    Entry,
    EntryType,
    MinimumProgress,
    RemoteFS,
    Security,
    SessionSettings,
)
from tui.remote.sftpclient import Channel, SFTPClient
from tui.remote.sftpio import SFTPReader, SFTPWriter, close_handle
from tui.sites import Site

MAX_ENTRIES = 1_000_000
"""The most entries one folder may list (beyond is ``ListingFailed``, never a cut list)."""

SSH_SECURITY = Security(True, "SSH-2.0", "SSH", SSH_HOST_KEY)

ChannelOpener = Callable[[Site, SessionSettings], Channel]


class SFTPFS(RemoteFS):
    """One SFTP session over an open channel.

    Args:
        site: The site (its charset decodes names; its key names it in messages).
        channel: The transport's pipes (``SSHChannel``, or ``sftp-server`` in tests).
        timeout: Seconds a request may wait without a byte moving.
        log: Receives notes about the session.
        reopen: Makes a new channel for ``reconnect`` (None: this session cannot).
        min_progress: When a wait for the server counts as stalled (``SFTPClient``).
    """

    def __init__(
        self,
        site: Site,
        channel: Channel,
        *,
        timeout: float = 30.0,
        log: Callable[[str, str], None] | None = None,
        reopen: Callable[[], Channel] | None = None,
        min_progress: MinimumProgress | None = None,
    ) -> None:
        self.site = site
        self.label = site.url(path="")
        self.timeout = timeout
        self._log = log
        self._reopen = reopen
        self._rule = min_progress
        utf8 = site.encoding.lower() in ("utf-8", "utf8")
        self._caps = Capabilities(resume_download=True, resume_upload=True, chmod=True,
                                  set_mtime=True, utf8=utf8)  # fmt: skip
        self._home = "/"
        self.client = self._start(channel)

    def _start(self, channel: Channel) -> SFTPClient:
        client = SFTPClient(channel, timeout=self.timeout, log=self._log, min_progress=self._rule)
        try:
            client.start()
            home = client.names(client.send(wire.REALPATH, wire.string(b".")),
                                "Cannot find the home folder")  # fmt: skip
        except BaseException:
            client.close()
            raise
        if not home or not home[0].raw.startswith(b"/"):
            client.close()
            raise ProtocolError("The server did not say where its home folder is")
        self._home = posixpath.normpath(self._decode(home[0].raw))
        self._caps.features = {name.decode("ascii", "replace"): value.decode("ascii", "replace")
                               for name, value in client.extensions.items()}  # fmt: skip
        return client

    # --- helpers -------------------------------------------------------------------------

    def _decode(self, raw: bytes) -> str:
        return wire.decode_name(raw, self.site.encoding)

    def _path(self, path: str) -> bytes:
        return wire.string(wire.encode_name(self.resolve(path), self.site.encoding))

    def _call(self, kind: int, body: bytes, action: str) -> None:
        self.client.call(kind, body, action)

    # --- RemoteFS ------------------------------------------------------------------------

    @property
    def security(self) -> Security:
        return SSH_SECURITY

    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def home(self) -> str:
        return self._home

    def resolve(self, path: str) -> str:
        if "\x00" in path:
            raise InvalidName(f"{path!r} contains NUL, which SFTP cannot send")
        if not path.startswith("/"):
            path = posixpath.join(self._home, path)
        return "/" + posixpath.normpath(path).lstrip("/")

    def listdir(self, path: str) -> list[Entry]:
        """The entries of a folder, once the server said it has no more.

        Raises:
            NotFound, PermissionDenied, ListingFailed (over ``MAX_ENTRIES``), ConnectionLost.
        """
        target = self.resolve(path)
        action = f"Cannot list {target}"
        client = self.client
        handle = client.handle(client.send(wire.OPENDIR, self._path(target)), action)
        names: list[wire.Name] = []
        head = wire.string(handle)
        # Two READDIRs in flight: a folder that fits in one reply (most do) costs one round
        # trip, its end included; the server answers a handle's requests in order.
        asked = [client.send(wire.READDIR, head), client.send(wire.READDIR, head)]
        try:
            while asked:
                batch = client.names(asked.pop(0), action)
                if batch is None:
                    break
                if not batch:  # never the end: a server that sends these could forever
                    raise ListingFailed(f"{action}: the server sent an empty batch of names "
                                        "instead of the end of the folder")  # fmt: skip
                names.extend(batch)
                if len(names) > MAX_ENTRIES:
                    raise ListingFailed(f"{action}: more than {MAX_ENTRIES} entries")
                asked.append(client.send(wire.READDIR, head))
        finally:
            for request in asked:
                client.forget(request)
            close_handle(client, handle)
        entries = [self._entry(n.raw, n.attrs) for n in names if n.raw not in (b".", b"..")]
        return self._with_targets(target, entries)

    def _entry(self, raw: bytes, attrs: wire.Attrs) -> Entry:
        kind = (EntryType.LINK if attrs.is_link else EntryType.DIR if attrs.is_dir
                else EntryType.FILE if attrs.is_file or attrs.permissions is None
                else EntryType.UNKNOWN)  # fmt: skip
        name = self._decode(raw)
        precision = "second" if attrs.mtime is not None else None
        return Entry(name, kind, attrs.size if kind is EntryType.FILE else None,
                     attrs.modified, precision, attrs.mode_text,
                     raw=None if kind is not EntryType.UNKNOWN else name)  # fmt: skip

    def _with_targets(self, folder: str, entries: list[Entry]) -> list[Entry]:
        """Links get their targets, all asked for at once (one round trip)."""
        links = [i for i, e in enumerate(entries) if e.type is EntryType.LINK]
        if not links:
            return entries
        client = self.client
        paths = [self._path(posixpath.join(folder, entries[i].name)) for i in links]
        asked = [(i, client.send(wire.READLINK, path))
                 for i, path in zip(links, paths, strict=True)]  # fmt: skip  # fmt: skip
        for index, request in asked:
            try:
                found = client.names(request, "Cannot read a link")
            except ConnectionLost:
                raise
            except FerrymanError:
                continue  # shown as a link without a target
            if found:
                entry = entries[index]
                entries[index] = Entry(entry.name, entry.type, entry.size, entry.mtime,
                                       entry.mtime_precision, entry.perms,
                                       target=self._decode(found[0].raw))  # fmt: skip
        return entries

    def stat(self, path: str) -> Entry:
        target = self.resolve(path)
        attrs = self.client.attrs(self.client.send(wire.LSTAT, self._path(target)),
                                  f"Cannot find {target}")  # fmt: skip
        entry = self._entry(wire.encode_name(posixpath.basename(target) or "/",
                                             self.site.encoding), attrs)  # fmt: skip
        return self._with_targets(posixpath.dirname(target), [entry])[0]

    def _stat_followed(self, path: str, action: str) -> wire.Attrs:
        return self.client.attrs(self.client.send(wire.STAT, self._path(path)), action)

    def mkdir(self, path: str) -> None:
        target = self.resolve(path)
        self._call(wire.MKDIR, self._path(target) + wire.Attrs().encode(),
                   f"Cannot create {target}")  # fmt: skip

    def remove(self, path: str) -> None:
        target = self.resolve(path)
        self._call(wire.REMOVE, self._path(target), f"Cannot delete {target}")

    def rmdir(self, path: str) -> None:
        target = self.resolve(path)
        self._call(wire.RMDIR, self._path(target), f"Cannot remove directory {target}")

    def rename(self, source: str, target: str) -> None:
        """Rename, replacing ``target`` atomically where the server offers
        ``posix-rename@openssh.com`` (plain SFTP v3 RENAME refuses an existing target)."""
        old, new = self.resolve(source), self.resolve(target)
        action = f"Cannot rename {old} to {new}"
        body = self._path(old) + self._path(new)
        if self.client.offers(b"posix-rename@openssh.com"):
            name = wire.string(b"posix-rename@openssh.com")
            self.client.status(self.client.send(wire.EXTENDED, name + body), action)
        else:
            self._call(wire.RENAME, body, action)

    def flush_to_disk(self, path: str) -> None:
        client = self.client
        if not client.offers(b"fsync@openssh.com"):
            return  # the server cannot be asked: its own rename is what there is
        target = self.resolve(path)
        action = f"Cannot flush {target} to the server's disk"
        # Opened for writing (never truncating): a server may allow fsync on such a handle
        # only, and the file is the one this session just wrote. A server whose umask
        # makes new files read-only (``internal-sftp -u 0277``) refuses that: reading then.
        try:
            handle = self._open_for_flush(target, wire.O_WRITE, action)
        except PermissionDenied:
            handle = self._open_for_flush(target, wire.O_READ, action)
        try:
            name = wire.string(b"fsync@openssh.com")
            client.status(client.send(wire.EXTENDED, name + wire.string(handle)), action)
        except NotSupported:
            pass  # offered, then refused as unsupported (its file system, say): as if unoffered
        finally:
            close_handle(client, handle)

    def _open_for_flush(self, target: str, flags: int, action: str) -> bytes:
        body = self._path(target) + wire.u32(flags) + wire.Attrs().encode()
        return self.client.handle(self.client.send(wire.OPEN, body), action)

    def size(self, path: str) -> int:
        target = self.resolve(path)
        attrs = self._stat_followed(target, f"Cannot get the size of {target}")
        if attrs.is_dir:
            raise NotFound(f"Cannot get the size of {target}: it is a folder")
        if attrs.size is None:
            raise NotSupported(f"Cannot get the size of {target}: the server did not say")
        return attrs.size

    def mtime(self, path: str) -> datetime:
        target = self.resolve(path)
        modified = self._stat_followed(target, f"Cannot get the time of {target}").modified
        if modified is None:
            raise NotSupported(f"Cannot get the time of {target}: the server did not say")
        return modified

    def set_mtime(self, path: str, when: datetime) -> None:
        target = self.resolve(path)
        stamp = max(0, min(int(when.timestamp()), 0xFFFFFFFF))
        attrs = wire.Attrs(atime=stamp, mtime=stamp).encode()
        self._call(wire.SETSTAT, self._path(target) + attrs, f"Cannot set the time of {target}")

    def chmod(self, path: str, mode: int) -> None:
        target = self.resolve(path)
        attrs = wire.Attrs(permissions=mode & 0o7777).encode()
        self._call(wire.SETSTAT, self._path(target) + attrs, f"Cannot chmod {target}")

    def free_space(self, path: str) -> int | None:
        """Bytes free to the user under ``path`` (``statvfs@openssh.com``), or None."""
        if not self.client.offers(b"statvfs@openssh.com"):
            return None
        data = self.client.extended(b"statvfs@openssh.com", self._path(path),
                                    f"Cannot read the free space of {path}")  # fmt: skip
        return wire.parse_statvfs(data)[0]

    def open_read(self, path: str, offset: int = 0, *, expect: int | None = None) -> SFTPReader:
        target = self.resolve(path)
        action = f"Cannot download {target}"
        body = self._path(target) + wire.u32(wire.O_READ) + wire.Attrs().encode()
        handle = self.client.handle(self.client.send(wire.OPEN, body), action)
        return SFTPReader(self.client, handle, max(0, offset), expect, action)

    def open_write(
        self, path: str, offset: int | None = None, *, append: bool = False
    ) -> SFTPWriter:
        target = self.resolve(path)
        action = f"Cannot upload to {target}"
        client = self.client
        flags = wire.O_WRITE | wire.O_CREAT
        if offset is None and not append:
            flags |= wire.O_TRUNC
        body = self._path(target) + wire.u32(flags) + wire.Attrs().encode()
        handle = client.handle(client.send(wire.OPEN, body), action)
        pending: tuple[int, ...] = ()
        start = offset or 0
        try:
            if append:
                size = client.attrs(client.send(wire.FSTAT, wire.string(handle)), action).size
                start = size or 0
            elif offset:  # resume: what lies past the offset is not ours to keep
                truncate = wire.string(handle) + wire.Attrs(size=offset).encode()
                pending = (client.send(wire.FSETSTAT, truncate),)
        except BaseException:
            close_handle(client, handle)
            raise
        return SFTPWriter(client, handle, start, action, pending=pending)

    def keepalive(self) -> None:
        self._stat_followed(self._home, "Keep-alive failed")

    @property
    def connected(self) -> bool:
        return self.client.alive

    def reconnect(self) -> None:
        if self._reopen is None:
            raise NotSupported("This SFTP session cannot reconnect")
        self.client.close()
        self.client = self._start(self._reopen())

    def close(self) -> None:
        self.client.close()


class SFTPSession:
    """The SFTP backend's ``tui.remote.base.Session`` for one site."""

    def __init__(self, site: Site, settings: SessionSettings) -> None:
        self.site = site
        self.settings = settings

    def _channel(self) -> Channel:
        # The transport (the other half of this backend): imported when first used.
        from tui.remote.sshchannel import open_channel

        channel: Channel = open_channel(self.site, self.settings)
        return channel

    def connect(self) -> SFTPFS:
        """Start ssh (host key judged, login through its askpass bridge) and SFTP.

        Raises:
            ConnectFailed, CertificateNotTrusted, AuthFailed, NotSupported, ConnectionLost,
            ProtocolError.
        """
        return SFTPFS(self.site, self._channel(), timeout=self.settings.timeout,
                      log=self.settings.log, reopen=self._channel,
                      min_progress=self.settings.min_progress)  # fmt: skip

    def fetch_identity(self) -> PeerIdentity:
        """The host key, without logging in (the transport's ``fetch_identity``)."""
        try:
            from tui.remote import sshchannel
        except ImportError as error:
            raise UsageError("This Ferryman has no SSH transport") from error
        fetch = getattr(sshchannel, "fetch_identity", None)
        if fetch is None:
            raise UsageError(f"{self.site.url()}: the host key cannot be fetched on its own")
        identity: PeerIdentity = fetch(self.site, self.settings)
        return identity


def session(site: Site, settings: SessionSettings) -> SFTPSession:
    """The SFTP backend's session factory (declared in ``tui.backends.SFTP``)."""
    return SFTPSession(site, settings)
