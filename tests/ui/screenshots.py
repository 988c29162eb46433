"""Writes the README's screenshots (screenshots/*.svg) from the snapshot tests' states.

python -m tests.ui.screenshots
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import tempfile

from tests.ui import states

OUT = pathlib.Path(__file__).resolve().parents[2] / "screenshots"


async def shoot(name: str, app, run_before) -> None:  # type: ignore[no-untyped-def]
    async with app.run_test(size=states.SIZE) as pilot:
        await run_before(pilot)
        await pilot.pause()
        app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
    print(f"wrote screenshots/{name}.svg")


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    saved = dict(os.environ)
    try:
        shots = [("main-screen", states.ConnectedMain), ("compare", states.ComparedMain),
                 ("sync-plan", states.SyncPlan), ("transfers", states.TransfersMain)]  # fmt: skip
        for name, kind in shots:
            with tempfile.TemporaryDirectory() as workdir:
                state = kind(workdir)
                try:
                    await shoot(name, state.app, state.run_before)
                finally:
                    state.stop()
        for name, verdict in [
            ("certificate-viewer", "untrusted"),
            ("certificate-changed", "changed"),
        ]:
            with tempfile.TemporaryDirectory() as workdir:
                app = states.app_for(states.prepare(workdir))
                await shoot(name, app, states.certificate_run_before(verdict))
        for name, verdict in [("hostkey-viewer", "untrusted"), ("hostkey-changed", "changed")]:
            with tempfile.TemporaryDirectory() as workdir:
                app = states.app_for(states.prepare(workdir))
                await shoot(name, app, states.hostkey_run_before(verdict))
        for name, run_before in [("connect-screen", states.connect_run_before),
                                 ("help-screen", states.help_run_before)]:  # fmt: skip
            with tempfile.TemporaryDirectory() as workdir:
                await shoot(name, states.app_for(states.prepare(workdir)), run_before)
    finally:
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    asyncio.run(main())
