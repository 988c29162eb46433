"""Snapshot tests (pytest-textual-snapshot) with fixed data: every screen the README shows,
at 80x24 (the same states as its screenshots), and the key states again at 60x20. Each
docstring says what the picture must show. Update with:
pytest tests/ui/test_snapshots.py --snapshot-update"""

from __future__ import annotations

import pytest

from tests.ui import states


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # prepare() sets these; monkeypatch restores
    monkeypatch.setenv("FERRYMAN_HOME", str(tmp_path / ".ferryman"))
    return str(tmp_path)


SIZES = pytest.mark.parametrize("size", [states.SIZE, states.SMALL], ids=["80x24", "60x20"])


@SIZES
def test_main_screen(snap_compare, workdir, size):
    """Both panes, connected over TLS (a green TLS badge), docs/ expanded in the remote pane;
    each row's size and, at 80 columns, its time; the key bar from 1Help to 10Quit."""
    state = states.ConnectedMain(workdir)
    try:
        assert snap_compare(state.app, terminal_size=size, run_before=state.run_before)
    finally:
        state.stop()


@SIZES
def test_transfer_panel(snap_compare, workdir, size):
    """The queue under the panes: done, two running with speeds and times left, one
    failed with the server's reason, and the total line; each row with its direction
    (an arrow) and its path on the server."""
    state = states.TransfersMain(workdir)
    try:
        assert snap_compare(state.app, terminal_size=size, run_before=state.run_before)
    finally:
        state.stop()


def test_compare(snap_compare, workdir):
    """After =: marks in both panes (+ only here, > newer, < older, a different-sign),
    readable without colour, and the legend line under the panes."""
    state = states.ComparedMain(workdir)
    try:
        assert snap_compare(state.app, terminal_size=states.SIZE, run_before=state.run_before)
    finally:
        state.stop()


@SIZES
def test_sync_plan(snap_compare, workdir, size):
    """The sync plan: totals per action, each entry with a box that is X (ticked: copied)
    or blank (the extra, not deleted unless ticked), and the Start and Cancel buttons."""
    state = states.SyncPlan(workdir)
    try:
        assert snap_compare(state.app, terminal_size=size, run_before=state.run_before)
    finally:
        state.stop()


@SIZES
def test_conflict_dialog(snap_compare, workdir, size):
    """The target exists: both sides' sizes and times, and all five choices, in two rows,
    none blank or cut."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=size, run_before=states.conflict_run_before)


def test_hex_viewer(snap_compare, workdir):
    """A binary file as 16 bytes a row, no row wrapped at 80 columns, and the hint line
    saying how to close and move."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=states.SIZE, run_before=states.hex_viewer_run_before)


@pytest.mark.parametrize("verdict", ["untrusted", "changed", "expired"])
def test_certificate_viewer(snap_compare, workdir, verdict):
    """Owner and Issuer marked Invalid (wrong host, unknown issuer); the changed variant
    shows the warning and the two fingerprints side by side; the expired one offers no
    "Always trust" and says, in words, that it can be accepted for this session only."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=states.SIZE,
                        run_before=states.certificate_run_before(verdict))  # fmt: skip


def test_connect_screen(snap_compare, workdir):
    """The URL field and the site manager with two saved sites, the first picked."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=states.SIZE, run_before=states.connect_run_before)


def test_help_screen(snap_compare, workdir):
    """Every key, with what it does."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=states.SIZE, run_before=states.help_run_before)


def test_certificate_viewer_at_60x20(snap_compare, workdir):
    """The untrusted certificate in a narrow terminal: the verdict, Owner marked Invalid,
    and the three buttons (Accept once, Always trust, Reject) all on screen."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=states.SMALL,
                        run_before=states.certificate_run_before("untrusted"))  # fmt: skip


@pytest.mark.parametrize(
    ("verdict", "size"),
    [("untrusted", states.SIZE), ("changed", states.SIZE), ("changed", states.SMALL)],
    ids=["unknown-80x24", "changed-80x24", "changed-60x20"],
)
def test_hostkey_viewer(snap_compare, workdir, verdict, size):
    """An SSH host key known_hosts does not list: NOT TRUSTED in words, its type with 256
    bits, its SHA256: fingerprint on one line (in halves at 60 columns), what known_hosts
    says (in red), the randomart headed [ED25519 256], and no base64 key. The changed one:
    the WARNING on a red frame, "Trusted before" beside "Presented now", each fingerprint
    in halves over its randomart; at 60x20 both fingerprints whole above the fold. All
    three buttons, Reject focused."""
    app = states.app_for(states.prepare(workdir))
    assert snap_compare(app, terminal_size=size, run_before=states.hostkey_run_before(verdict))
