"""Pilot tests: the changed-certificate warning, the viewer for the current connection, the
trust manager, the site manager, rebinding keys and the command palette."""

from __future__ import annotations

import os

import pytest

from tests.certs import make_ca, make_leaf, write_chain
from tests.ui.conftest import settle, store
from tui.app import FerrymanApp
from tui.config import Config, load_config
from tui.demo import SandboxServer, TLSFiles
from tui.errors import ConfigError
from tui.remote.tls import fingerprint
from tui.screens.certificate import CertificateScreen
from tui.screens.connect import ConnectScreen
from tui.screens.main import MainScreen
from tui.screens.trust_manager import TrustManagerScreen
from tui.sites import load_sites
from tui.trust.store import TrustedCertificate


async def test_a_changed_certificate_gets_the_warning_with_both_fingerprints(make_app, tmp_path):
    ca = make_ca()
    old, new = make_leaf(ca, self_signed=True), make_leaf(ca, self_signed=True)
    tls = TLSFiles(*write_chain(str(tmp_path), "new", new))
    with SandboxServer(str(tmp_path), tls=tls) as server:
        store().add(f"127.0.0.1:{server.port}", TrustedCertificate(
            sha256=fingerprint(old.der), pem="", subject="127.0.0.1", failing=["issuer"],
            problems=[], accepted_at="2026-01-01T00:00:00Z", not_after="2030-01-01T00:00:00Z",
        ))  # fmt: skip
        app = make_app(server.url("ftpes"))
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            modal = app.screen
            assert isinstance(modal, CertificateScreen)
            assert modal.report.verdict == "changed"
            assert modal.query_one("#certificate").has_class("changed")
            boxes = [str(static.render()) for static in modal.query("#cert-compare Static")]
            assert fingerprint(old.der)[:23] in boxes[0] and fingerprint(new.der)[:23] in boxes[1]
            await pilot.pause()
            assert modal.focused is not None and modal.focused.id == "reject"  # Enter rejects
            await pilot.press("enter")
            await settle(pilot, app)
            # Rejected in the viewer, which said why: no second dialog repeating it.
            assert app.screen.status.activity == "certificate rejected"
            assert app.screen.remote.fs is None  # not connected


async def test_view_the_current_certificate_and_the_trust_manager(make_app, tls_server):
    app = make_app(tls_server.url("ftpes"))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a")  # always trust
        await settle(pilot, app)
        await pilot.press("f2")
        viewer = app.screen
        assert isinstance(viewer, CertificateScreen) and not viewer.ask
        assert viewer.report.verdict == "trusted-store"
        assert [button.id for button in viewer.query("Button")] == ["reject"]  # just Close
        await pilot.press("escape")
        await pilot.press("ctrl+t")
        manager = app.screen
        assert isinstance(manager, TrustManagerScreen) and len(manager.rows) == 1
        await pilot.press("enter")
        assert isinstance(app.screen, CertificateScreen)
        await pilot.press("escape", "d", "y")
        await settle(pilot, app)
        assert manager.rows == []
    assert store().sites()[f"127.0.0.1:{tls_server.port}"].certificates == []


async def test_site_manager_saves_sites_without_passwords(make_app, plain_server):
    app = make_app(None)  # no URL: the connect screen opens at start
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        connect = app.screen
        assert isinstance(connect, ConnectScreen)
        connect.query_one("#url").value = plain_server.url("ftp", credentials=False)
        connect.query_one("#name").value = "Sandbox"
        connect.query_one("#user").value = "demo"
        connect.query_one("#password").value = "demo"
        await pilot.press("ctrl+s")
        (saved,) = load_sites()
        assert (saved.name, saved.user, saved.password) == ("Sandbox", "demo", None)
        await pilot.click("#go")
        await settle(pilot, app)
        assert isinstance(app.screen, MainScreen) and app.screen.remote.fs is not None
    path = os.path.join(os.environ["FERRYMAN_HOME"], "config", "sites.toml")
    with open(path) as handle:
        assert 'demo"' in handle.read() and "password" not in open(path).read().split("\n", 1)[1]


async def test_keys_are_rebindable_from_the_config_file(local_dir):
    config_dir = os.path.join(os.environ["FERRYMAN_HOME"], "config")
    os.makedirs(config_dir)
    with open(os.path.join(config_dir, "config.toml"), "w") as handle:
        handle.write('[keys]\n"main.log" = "ctrl+g"\n')
    app = FerrymanApp(local_path=local_dir, config=load_config(), check_revocation=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")  # close the connect screen
        log = app.screen.query_one("#log")
        await pilot.press("ctrl+g")
        assert log.display


async def test_the_command_palette_has_ferrymans_commands(make_app):
    app = make_app(None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")
        titles = {command.title for command in app.get_system_commands(app.screen)}
    assert {"Connect", "Show certificate", "Trusted certificates"} <= titles


def test_config_defaults_without_a_file():
    assert load_config() == Config()


def test_transfer_settings_are_read_and_checked(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[transfers]\nsessions = 4\nsegments = 1\n")
    config = load_config(str(path))
    assert (config.sessions, config.segments) == (4, 1)
    path.write_text("[transfers]\nsegments = 40\n")
    with pytest.raises(ConfigError, match="segments must be 1 to 16"):
        load_config(str(path))


class MemoryKeyring:
    """A keyring backend in memory, through keyring's real API (no system keyring here)."""

    priority = 1

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, user):  # type: ignore[no-untyped-def]
        return self.items.get((service, user))

    def set_password(self, service, user, password):  # type: ignore[no-untyped-def]
        self.items[(service, user)] = password

    def delete_password(self, service, user):  # type: ignore[no-untyped-def]
        self.items.pop((service, user), None)


async def test_passwords_go_to_the_keyring_when_there_is_one(make_app, plain_server, monkeypatch):
    import keyring

    from tui import keychain

    assert not keychain.available()  # the tests pin keyring's "fail" backend: none here
    memory = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: memory)
    app = make_app(None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        connect = app.screen
        remember = connect.query_one("#remember")
        for _ in range(200):  # the keyring is looked for in a worker, after the dialog shows
            if remember.display:
                break
            await pilot.pause(0.01)
        assert remember.display  # a keyring is there: the choice is offered
        connect.query_one("#url").value = plain_server.url("ftp", credentials=False)
        connect.query_one("#name").value = "Sandbox"
        connect.query_one("#user").value = "demo"
        connect.query_one("#password").value = "demo"
        connect.query_one("#remember").value = True
        await pilot.press("ctrl+s")
    assert memory.items == {("ferryman", f"demo@127.0.0.1:{plain_server.port}"): "demo"}
    (saved,) = load_sites()
    # Connecting to the saved site later needs no password typed: the keyring has it.
    again = make_app(saved.url())
    async with again.run_test(size=(100, 30)) as pilot:
        await settle(pilot, again)
        assert isinstance(again.screen, MainScreen) and again.screen.remote.fs is not None


async def test_no_keyring_no_remember_box(make_app):
    app = make_app(None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await app.screen.workers.wait_for_complete()  # the keyring search has ended
        await pilot.pause()
        assert not app.screen.query_one("#remember").display  # the "fail" backend only
