"""Trust decisions mean what they say: accepting a changed certificate replaces the old pin,
a certificate outside its dates is accepted for one session only (never saved), and a
damaged trust store record is shown as damaged and never trusted, without a traceback."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import Static

from tests.certs import make_ca, make_leaf, write_chain
from tests.ui.conftest import local_dir, make_app, settle, store  # noqa: F401 (fixtures)
from tui.cli import main
from tui.connection import ConnectionService
from tui.demo import SandboxServer, TLSFiles
from tui.errors import CertificateNotTrusted, FerrymanError
from tui.remote.tls import fingerprint
from tui.screens.certificate import CertificateScreen
from tui.screens.main import MainScreen
from tui.trust.policy import TrustDecision
from tui.trust.store import TrustedCertificate, TrustStore, TrustStoreCorrupt


class Prompt:
    """The trust prompt, answering ``answer`` and recording what it was shown."""

    def __init__(self, answer: TrustDecision) -> None:
        self.answer = answer
        self.shown: list[object] = []
        self.verdicts: list[str] = []  # as shown (the report's verdict follows the decision)

    def __call__(self, report):  # type: ignore[no-untyped-def]
        self.shown.append(report)
        self.verdicts.append(report.verdict)
        return self.answer


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Self-signed certificates for 127.0.0.1: two valid ones, an expired one, a future one."""
    directory = str(tmp_path_factory.mktemp("certs"))
    ca = make_ca()
    leaves = {
        "first": make_leaf(ca, self_signed=True),
        "second": make_leaf(ca, self_signed=True),
        "expired": make_leaf(ca, self_signed=True, days=(-30, -1)),
        "future": make_leaf(ca, self_signed=True, days=(2, 30)),
    }
    return {
        name: (TLSFiles(*write_chain(directory, name, leaf)), fingerprint(leaf.der))
        for name, leaf in leaves.items()
    }


def pin(
    sha256: str, *, failing: tuple[str, ...] = ("issuer",), not_after: str = "2099-01-01T00:00:00Z"
):  # type: ignore[no-untyped-def]  # noqa: E501
    return TrustedCertificate(
        sha256=sha256, pem="", subject="127.0.0.1", failing=list(failing), problems=[],
        accepted_at="2026-01-01T00:00:00Z", not_after=not_after,
    )  # fmt: skip


def open_with(url: str, answer: TrustDecision) -> Prompt:
    prompt = Prompt(answer)
    ConnectionService(prompt=prompt, check_revocation=False).open(url).close()
    return prompt


# --- a changed certificate -----------------------------------------------------------------


def test_always_trust_on_a_changed_certificate__replaces_the_old_pin(tmp_path, certs):
    (first, first_fp), (second, second_fp) = certs["first"], certs["second"]
    with SandboxServer(str(tmp_path), tls=first) as server:
        port, url = server.port, server.url("ftpes")
        open_with(url, TrustDecision.ALWAYS)
    site = f"127.0.0.1:{port}"
    with SandboxServer(str(tmp_path), tls=second, port=port):
        asked = open_with(url, TrustDecision.ALWAYS)
    assert asked.verdicts == ["changed"]
    record = TrustStore().sites()[site]
    assert [c.sha256 for c in record.certificates] == [second_fp]
    assert [c.sha256 for c in record.history] == [first_fp]  # kept, for the record only
    # The old certificate is no longer trusted: it is now the changed one.
    with SandboxServer(str(tmp_path), tls=first, port=port):
        with pytest.raises(CertificateNotTrusted) as refused:
            open_with(url, TrustDecision.REJECT)
    assert refused.value.certificate.verdict == "changed"
    assert refused.value.certificate.previous == second_fp


def test_trust_add_for_a_site_with_another_pin__replaces_it(tmp_path, certs, capsys):
    (first, first_fp), (_, second_fp) = certs["first"], certs["second"]
    with SandboxServer(str(tmp_path), tls=first) as server:
        site, url = f"127.0.0.1:{server.port}", server.url("ftpes")
        TrustStore().add(site, pin(second_fp))
        assert main(["trust", "add", url, "--fingerprint", first_fp]) == 0
        assert second_fp in capsys.readouterr().out  # says what it replaced
        assert main(["ls", url]) == 0
    record = TrustStore().sites()[site]
    assert [c.sha256 for c in record.certificates] == [first_fp]
    assert [c.sha256 for c in record.history] == [second_fp]


async def test_always_trust_in_the_viewer_on_a_changed_certificate__replaces_the_old_pin(
    make_app,  # noqa: F811
    tmp_path,
    certs,
):
    (first, first_fp), (_, second_fp) = certs["first"], certs["second"]
    with SandboxServer(str(tmp_path), tls=first) as server:
        site = f"127.0.0.1:{server.port}"
        store().add(site, pin(second_fp))
        app = make_app(server.url("ftpes"))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            assert isinstance(app.screen, CertificateScreen)
            assert app.screen.report.verdict == "changed"
            await pilot.press("a")
            await settle(pilot, app)
            assert isinstance(app.screen, MainScreen) and app.screen.remote.fs is not None
    record = store().sites()[site]
    assert [c.sha256 for c in record.certificates] == [first_fp]
    assert [c.sha256 for c in record.history] == [second_fp]


# --- a certificate outside its dates ---------------------------------------------------------


@pytest.mark.parametrize("which", ["expired", "future"])
def test_always_trust_on_a_certificate_outside_its_dates__accepts_it_for_this_run_only(
    tmp_path, certs, which
):
    tls, _ = certs[which]
    with SandboxServer(str(tmp_path), tls=tls) as server:
        url = server.url("ftpes")
        service = ConnectionService(prompt=Prompt(TrustDecision.ALWAYS), check_revocation=False)
        service.open(url).close()  # accepted: this run goes on
        service.open(url).close()  # and is not asked again within it
        assert len(service.policy.prompt.shown) == 1  # type: ignore[union-attr]
        assert not any(r.certificates for r in TrustStore().sites().values())  # nothing saved
        with pytest.raises(CertificateNotTrusted):  # a new run asks again
            open_with(url, TrustDecision.REJECT)


@pytest.mark.parametrize("which", ["expired", "future"])
def test_trust_add_of_a_certificate_outside_its_dates__refuses_with_exit_4(
    tmp_path, certs, capsys, which
):
    tls, sha256 = certs[which]
    with SandboxServer(str(tmp_path), tls=tls) as server:
        assert main(["trust", "add", server.url("ftpes"), "--fingerprint", sha256]) == 4
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "session only" in error and "nothing was added" in error
    assert not any(r.certificates for r in TrustStore().sites().values())


def test_a_pin_saved_while_expired_by_an_older_version__is_asked_about_again(tmp_path, certs):
    tls, sha256 = certs["expired"]
    with SandboxServer(str(tmp_path), tls=tls) as server:
        TrustStore().add(f"127.0.0.1:{server.port}",
                         pin(sha256, failing=("issuer", "validity"), not_after="2026-01-01T00:00:00Z"))  # fmt: skip  # noqa: E501
        with pytest.raises(CertificateNotTrusted):
            open_with(server.url("ftpes"), TrustDecision.REJECT)


async def test_the_viewer_of_an_expired_certificate__offers_this_session_only(
    make_app,  # noqa: F811
    tmp_path,
    certs,
):
    tls, _ = certs["expired"]
    with SandboxServer(str(tmp_path), tls=tls) as server:
        app = make_app(server.url("ftpes"))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot, app)
            viewer = app.screen
            assert isinstance(viewer, CertificateScreen)
            assert [b.id for b in viewer.query("#cert-buttons Button")] == ["once", "reject"]
            line = viewer.query_one("#cert-once-only", Static)
            region = line.region
            assert region.x >= 0 and region.right <= 80 and region.bottom <= 24
            drawn = " ".join(
                "".join(segment.text for segment in strip) for strip in line.render_lines(
                    line.content_region.reset_offset)
            )  # fmt: skip
            assert "session only" in " ".join(drawn.split()) and "expired" in drawn
            await pilot.press("a")  # not offered: nothing happens
            await pilot.pause()
            assert app.screen is viewer
            await pilot.press("o")
            await settle(pilot, app)
            assert isinstance(app.screen, MainScreen) and app.screen.remote.fs is not None
    assert not any(r.certificates for r in store().sites().values())


# --- a damaged store -------------------------------------------------------------------------


def write_store(sites: dict[str, object]) -> str:
    path = TrustStore().path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"schema": 1, "sites": sites}, handle)
    return path


def good_record(sha256: str) -> dict[str, object]:
    entry = pin(sha256)
    return {"tls": True, "certificates": [{name: getattr(entry, name) for name in (
        "sha256", "pem", "subject", "failing", "problems", "accepted_at", "not_after",
        "source")}]}  # fmt: skip


def test_a_damaged_date_in_the_store__is_listed_as_damaged_and_the_others_kept(capsys):
    bad = good_record("AA:BB")
    bad["certificates"][0]["not_after"] = "31/12/2030"  # type: ignore[index]
    path = write_store({"bad.example:21": bad, "good.example:21": good_record("CC:DD")})
    assert main(["trust", "list"]) == 0
    out = capsys.readouterr().out
    (damaged,) = [line for line in out.splitlines() if "DAMAGED" in line]
    assert damaged.startswith("bad.example:21") and path in damaged
    assert "good.example:21" in out and "CC:DD" in out
    assert main(["trust", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {row["site"]: "damaged" in row for row in listed} == {
        "good.example:21": False, "bad.example:21": True}  # fmt: skip
    TrustStore().add("new.example:21", pin("EE:FF"))  # another site's change keeps it as it was
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle)["sites"]["bad.example:21"] == bad
    assert main(["trust", "forget", "bad.example:21"]) == 0
    assert "bad.example:21" not in TrustStore().sites()


def test_a_damaged_record__is_never_trusted(tmp_path, certs, capsys):
    tls, sha256 = certs["first"]
    with SandboxServer(str(tmp_path), tls=tls) as server:
        site, url = f"127.0.0.1:{server.port}", server.url("ftpes")
        record = good_record(sha256)
        record["certificates"][0]["failing"] = "issuer"  # type: ignore[index]
        write_store({site: record})
        prompt = Prompt(TrustDecision.ALWAYS)
        with pytest.raises(TrustStoreCorrupt, match="damaged record"):
            ConnectionService(prompt=prompt, check_revocation=False).open(url)
        assert prompt.shown == []  # refused before anyone is asked, nothing overwritten
        assert main(["ls", url]) == 1
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "damaged" in error and "Traceback" not in error
    with pytest.raises(TrustStoreCorrupt):
        TrustStore().add(site, pin(sha256))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)  # fmt: skip
FIELDS = ["sha256", "pem", "subject", "failing", "problems", "accepted_at", "not_after",
          "source", "certificates", "tls", "history", "record", "entry"]  # fmt: skip


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(field=st.sampled_from(FIELDS), value=JSON)
def test_any_json_in_any_field_of_a_record__raises_only_ferrymans_error(field, value, capsys):
    record = good_record("AA:BB")
    entry = record["certificates"][0]  # type: ignore[index]
    if field == "record":
        record = value
    elif field == "entry":
        record["certificates"] = [value]
    elif field in ("certificates", "tls", "history"):
        record[field] = value
    else:
        entry[field] = value
    write_store({"h.example:21": record, "good.example:21": good_record("CC:DD")})
    trust = TrustStore()
    sites = trust.sites()  # never raises for one record
    assert [c.sha256 for c in sites["good.example:21"].certificates] == ["CC:DD"]
    try:
        pins = trust.certificates("h.example:21")
    except FerrymanError:
        assert sites["h.example:21"].damaged
    else:
        assert sites["h.example:21"].damaged is None
        assert all(isinstance(p.not_after, str) and isinstance(p.expired, bool) for p in pins)
    assert main(["trust", "list"]) == 0 and main(["trust", "list", "--json"]) == 0
    capsys.readouterr()


async def test_a_damaged_record_in_the_trust_manager__is_shown_and_can_be_forgotten(
    make_app,  # noqa: F811
):
    bad = good_record("AA:BB")
    bad["tls"] = "yes"
    write_store({"bad.example:21": bad, "good.example:21": good_record("CC:DD")})
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape", "ctrl+t")
        manager = app.screen
        assert [(site, entry is None) for site, entry in manager.rows] == [
            ("bad.example:21", True), ("good.example:21", False)]  # fmt: skip
        await pilot.press("enter")  # shows why, opens nothing
        assert app.screen is manager
        await pilot.press("d", "y")
        await settle(pilot, app)
        assert [site for site, _ in manager.rows] == ["good.example:21"]
    assert list(store().sites()) == ["good.example:21"]


def test_a_pin_that_has_expired_since__is_asked_again_and_not_saved_again(tmp_path, certs):
    tls, sha256 = certs["expired"]
    with SandboxServer(str(tmp_path), tls=tls) as server:
        site = f"127.0.0.1:{server.port}"
        TrustStore().add(site, pin(sha256, not_after="2026-11-23T00:00:00Z"))  # saved while valid
        asked = open_with(server.url("ftpes"), TrustDecision.ALWAYS)
    assert asked.verdicts == ["untrusted"]  # asked again, not trusted silently
    (kept,) = TrustStore().certificates(site)
    assert kept.failing == ["issuer"]  # "always" did not save the expired one over it


async def test_a_subject_with_markup_and_a_bidi_override__is_shown_escaped_in_the_trust_manager(
    make_app,  # noqa: F811
):
    entry = pin("AA:BB")
    entry.subject = "evil\u202e[b]gpj.exe[/b]"
    TrustStore().add("h.example:21", entry)
    app = make_app(None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        await pilot.press("escape", "ctrl+t")
        table = app.screen.query_one("#trusted")
        subject = table.get_row_at(0)[1]
    assert subject.plain == "evil\\u202e[b]gpj.exe[/b]"
