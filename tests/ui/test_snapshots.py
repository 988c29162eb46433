"""Snapshot tests (pytest-textual-snapshot) at 80x24 with fixed data; the same states as
the README's screenshots. Update with: pytest tests/ui/test_snapshots.py --snapshot-update"""

from __future__ import annotations

import pytest

from tests.ui import states


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # prepare() sets these; monkeypatch restores
    monkeypatch.setenv("FERRYMAN_HOME", str(tmp_path / ".ferryman"))
    return str(tmp_path)


def test_main_screen(snap_compare, workdir):
    """Both panes at 80x24, connected over TLS, docs/ expanded in the remote pane."""
    state = states.ConnectedMain(workdir)
    try:
        assert snap_compare(state.app, terminal_size=states.SIZE, run_before=state.run_before)
    finally:
        state.stop()


def test_transfer_panel(snap_compare, workdir):
    """The queue under the panes at 80x24: done, two running with speeds and times left, one
    failed with the server's reason, and the total line."""
    state = states.TransfersMain(workdir)
    try:
        assert snap_compare(state.app, terminal_size=states.SIZE, run_before=state.run_before)
    finally:
        state.stop()


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
