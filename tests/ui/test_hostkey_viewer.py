"""The SSH host-key viewer (issue 22): what a user checks a host key by (type and size,
OpenSSH's ``SHA256:`` fingerprint and randomart, what known_hosts says, the host
certificate's CA) and not the key's base64; the same three answers as the certificate
viewer; a revoked key only closes; a changed key is the loud warning with the key trusted
before beside the one presented now, both drawn; it fits at 80x24 and 60x20, scrolls at
once, says its verdict in words and escapes what the server sent. The reports are real
keys (``data/``) judged by the real host-key rules."""

from __future__ import annotations

import base64
import hashlib
from contextlib import asynccontextmanager

import pytest
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Label

from tests.ui import states
from tests.ui.conftest import settle, store
from tui.identity import SSH_HOST_KEY, Identity, fingerprint, openssh_fingerprint
from tui.screens.hostkey import HostKeyScreen, fitted_fingerprint
from tui.screens.identity import trust_viewer
from tui.screens.trust_manager import TrustManagerScreen
from tui.trust.hostkey import HostKeyRules
from tui.trust.policy import TrustDecision
from tui.trust.randomart import randomart
from tui.trust.store import TrustedIdentity


def drawn(widget: Widget) -> str:
    """The widget's lines as they are drawn (scrolled out of view or not)."""
    lines = (widget.render_line(y) for y in range(widget.size.height))
    return "\n".join("".join(segment.text for segment in line).rstrip() for line in lines)


def shown_text(screen: HostKeyScreen) -> str:
    parts = [str(label.render()) for label in screen.query(Label)]
    parts += [drawn(widget) for widget in screen.query("#cert-body Static")]
    return "\n".join(parts)


def key_of(name: str) -> tuple[str, bytes]:
    key_type, encoded = (states.DATA / name).read_text().split()[:2]
    return key_type, base64.b64decode(encoded)


@asynccontextmanager
async def viewer_open(make_app, report, size=(80, 24)):  # type: ignore[no-untyped-def]
    """The app at ``size`` with the viewer for ``report`` open (asking); the answers it
    gives land in the list it yields."""
    app = make_app(None)
    answers: list[TrustDecision | None] = []
    async with app.run_test(size=size) as pilot:
        await settle(pilot, app)
        await pilot.press("escape")  # the connect screen
        viewer = trust_viewer(report)
        assert isinstance(viewer, HostKeyScreen)
        await app.push_screen(viewer, answers.append)
        await pilot.pause()
        await pilot.pause()  # the fingerprints are laid out again for their width
        yield pilot, viewer, answers


@pytest.fixture
def hostkey():  # type: ignore[no-untyped-def]
    """``states.hostkey_report``: a committed key judged by the real rules and policy (in
    the test's own FERRYMAN_HOME, which tests/conftest.py sets)."""
    return states.hostkey_report


def test_an_ssh_host_key__gets_the_host_key_viewer(hostkey):
    viewer = trust_viewer(hostkey("untrusted"))
    assert isinstance(viewer, HostKeyScreen) and viewer.ask


async def test_an_unknown_key__shows_type_size_fingerprint_known_hosts_and_randomart(
    make_app, hostkey
):
    report = hostkey("untrusted")
    key_type, key = key_of("hostkey-ed25519.pub")
    async with viewer_open(make_app, report) as (_, viewer, _):
        text = shown_text(viewer)
        assert "Host key of sftp.example.org:22" in text
        assert "NOT TRUSTED" in text  # the verdict in words: readable without colour
        assert "ssh-ed25519, 256 bits" in text
        assert openssh_fingerprint(fingerprint(key)) in text
        assert "not listed for sftp.example.org in known_hosts" in text
        for line in randomart(hashlib.sha256(key).digest(), "ED25519 256").splitlines():
            assert line in text
        assert viewer.focused is not None and viewer.focused.id == "reject"


async def test_an_rsa_key__shows_its_bits_and_never_its_base64(make_app, hostkey):
    report = hostkey("untrusted", key="hostkey-rsa.pub")
    _, key = key_of("hostkey-rsa.pub")
    async with viewer_open(make_app, report) as (_, viewer, _):
        text = shown_text(viewer)
        assert "ssh-rsa, 3072 bits" in text and "+---[RSA 3072]----+" in text
        encoded = base64.b64encode(key).decode()
        flat = "".join(text.split())
        assert not any(encoded[n : n + 24] in flat for n in range(0, len(encoded) - 24, 24))


@pytest.mark.parametrize(
    ("keys", "answer"),
    [
        (("o",), TrustDecision.ONCE),
        (("a",), TrustDecision.ALWAYS),
        (("escape",), TrustDecision.REJECT),
        (("enter",), TrustDecision.REJECT),
    ],  # fmt: skip
    ids=["o-accepts-once", "a-trusts-always", "esc-rejects", "enter-rejects"],
)
async def test_the_keys__give_the_answer(make_app, hostkey, keys, answer):
    async with viewer_open(make_app, hostkey("untrusted")) as (pilot, _, answers):
        await pilot.press(*keys)
        await pilot.pause()
        assert answers == [answer]


@pytest.mark.parametrize("button", ["once", "always", "reject"])
async def test_the_buttons__give_the_answer(make_app, hostkey, button):
    async with viewer_open(make_app, hostkey("untrusted")) as (pilot, viewer, answers):
        viewer.query_one(f"#{button}", Button).press()
        await pilot.pause()
        assert answers == [TrustDecision(button)]


async def test_a_revoked_key__offers_only_close_and_says_why(make_app, hostkey):
    report = hostkey("revoked")
    assert report.revocation == "revoked"
    async with viewer_open(make_app, report) as (pilot, viewer, answers):
        assert [button.id for button in viewer.query(Button)] == ["reject"]
        assert "Close" in str(viewer.query_one(Button).label)
        assert "Revoked: listed @revoked" in shown_text(viewer)
        await pilot.press("a")  # no answer can accept it
        await pilot.pause()
        assert answers == [TrustDecision.REJECT]


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_a_changed_key__shows_both_fingerprints_and_both_randomarts(make_app, hostkey, size):
    report = hostkey("changed")
    _, old = key_of("hostkey-ed25519-old.pub")
    _, new = key_of("hostkey-ed25519.pub")
    assert report.verdict == "changed" and report.previous == fingerprint(old)
    async with viewer_open(make_app, report, size) as (_, viewer, _):
        assert viewer.query_one("#certificate").has_class("changed")
        verdict = str(viewer.query_one("#cert-verdict").render())
        assert "WARNING: THE HOST KEY HAS CHANGED" in verdict
        before, now = viewer.query_one("#hostkey-before"), viewer.query_one("#hostkey-now")
        assert (before.border_title, now.border_title) == ("Trusted before", "Presented now")
        for box, key, title in ((before, old, ""), (now, new, "ED25519 256")):
            text = drawn(box)
            # the fingerprint, in halves where it does not fit; never a character alone
            assert openssh_fingerprint(fingerprint(key))[7:] in "".join(text.split())
            assert all(len(line.strip("│ ")) != 1 for line in text.splitlines())
            if size == (80, 24):  # the second half under the first, after "SHA256:"
                assert "\n" + " " * 7 + openssh_fingerprint(fingerprint(key))[29:] + "\n" in text
            for line in randomart(hashlib.sha256(key).digest(), title).splitlines():
                assert line in text  # the one before: drawn from the stored fingerprint
        assert before.region.y == now.region.y  # side by side
        assert viewer.focused is not None and viewer.focused.id == "reject"


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
@pytest.mark.parametrize("verdict", ["untrusted", "changed", "revoked"])
async def test_every_button__is_whole_on_screen_and_the_body_scrolls_at_once(
    make_app, hostkey, verdict, size
):
    async with viewer_open(make_app, hostkey(verdict), size) as (pilot, viewer, _):
        for button in viewer.query(Button):
            assert button.region.width >= len(str(button.label))
            assert viewer.region.contains_region(button.region)
        body = viewer.query_one("#cert-body", VerticalScroll)
        if body.max_scroll_y > 0:
            await pilot.press("down", "down")
            await pilot.pause()
            assert body.scroll_y == min(2, body.max_scroll_y)
            await pilot.press("home", "end")
            await pilot.pause()
            assert body.scroll_y == body.max_scroll_y


async def test_without_colour__the_verdict_and_the_two_sides_are_words(
    make_app, hostkey, monkeypatch
):
    monkeypatch.setenv("NO_COLOR", "1")
    async with viewer_open(make_app, hostkey("changed")) as (_, viewer, _):
        assert viewer.app.no_color
        text = shown_text(viewer)
        assert "WARNING: THE HOST KEY HAS CHANGED" in text
        titles = [box.border_title for box in viewer.query("#cert-compare Static")]
        assert titles == ["Trusted before", "Presented now"]


async def test_text_from_the_server__is_escaped(make_app, tmp_path):
    key_type, key = key_of("hostkey-ed25519.pub")
    encoded = base64.b64encode(key).decode()
    hostile = "\x1b[31mevil\u202e"
    identity = Identity(
        site=f"sftp.example.org{hostile}:22", host="sftp.example.org", kind=SSH_HOST_KEY,
        sha256=fingerprint(key),
        details=(("key_type", key_type + hostile), ("key", encoded),
                 ("certificate", f"signed by the CA {hostile}"),
                 ("known_hosts_name", f"sftp.example.org{hostile}"),
                 ("known_hosts_files", str(tmp_path / "none"))),
    )  # fmt: skip
    report = HostKeyRules().report(identity)
    async with viewer_open(make_app, report) as (_, viewer, _):
        text = shown_text(viewer)
        assert "\x1b" not in text and "\u202e" not in text
        assert "\\x1b[31mevil\\u202e" in text and "Certificate" in text


async def test_a_saved_host_key_in_the_trust_manager__opens_the_host_key_viewer(make_app):
    key_type, key = key_of("hostkey-ed25519.pub")
    store().add(states.HOST_SITE, TrustedIdentity(
        kind=SSH_HOST_KEY, sha256=fingerprint(key), failing=["general"], problems=[],
        accepted_at="2026-01-01T00:00:00Z",
        details={"key_type": key_type, "key": base64.b64encode(key).decode(),
                 "known_hosts": "not listed for sftp.example.org in known_hosts"},
    ))  # fmt: skip
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape", "ctrl+t")
        await pilot.pause()
        assert isinstance(app.screen, TrustManagerScreen)
        await pilot.press("enter")
        await pilot.pause()
        viewer = app.screen
        assert isinstance(viewer, HostKeyScreen) and not viewer.ask
        assert [button.id for button in viewer.query(Button)] == ["reject"]  # just Close
        text = shown_text(viewer)
        assert "Trusted: you accepted this host key before" in text
        assert "ssh-ed25519, 256 bits" in text and "+--[ED25519 256]--+" in text


def test_a_fingerprint_in_any_width__is_whole_or_in_halves():
    shown = openssh_fingerprint(fingerprint(b"key"))
    for width in range(20, 80):
        lines = fitted_fingerprint(shown, width).split("\n")
        assert "".join(line.strip() for line in lines) == shown
        assert len(lines) == 1 or all(len(line.strip()) > 1 for line in lines)
        if len(shown) <= width:
            assert lines == [shown]
        elif width >= 29:
            assert len(lines) == 2 and max(map(len, lines)) <= width


async def test_a_jump_hosts_key__says_which_site_it_leads_to(make_app):
    """A ProxyJump host's key is asked about before the site's: the viewer says which site
    the connection is on its way to, whole at 80 columns."""
    from tui.identity import ON_THE_WAY

    key_type, key = key_of("hostkey-ed25519.pub")
    identity = Identity(
        site="bastion:22", host="bastion", kind=SSH_HOST_KEY, sha256=fingerprint(key),
        details=(("key_type", key_type), ("key", base64.b64encode(key).decode()),
                 (ON_THE_WAY, "db.internal:22"), ("known_hosts_name", "bastion"),
                 ("known_hosts_files", "/nonexistent/known_hosts")),
    )  # fmt: skip
    report = HostKeyRules().report(identity)
    async with viewer_open(make_app, report) as (_, viewer, _):
        text = shown_text(viewer)
        assert "Host key of bastion:22" in text
        assert any(line.split() == ["Leads", "to", "db.internal:22"] for line in text.splitlines())
