"""The footer at 80 and 120 columns: no key cut in half; keys that do not fit give
way to one `f1 more` key (the help screen lists them all)."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from lgp_engine import Settings
from lgp_tui.app import WorkbenchApp
from lgp_tui.screens.help_screen import HelpScreen
from lgp_tui.widgets.footer.fitted_footer import FittedFooter

from .conftest import browse, wait_until


def shown(footer: FittedFooter) -> list[str]:
    return [k.description for k in footer.query(FooterKey) if k.display]


def width(footer: FittedFooter) -> int:
    return sum(k.render().cell_len for k in footer.query(FooterKey) if k.display)


@pytest.mark.asyncio
async def test_at_80_columns_keys_that_do_not_fit_are_behind_f1_more(settings: Settings) -> None:
    app = WorkbenchApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.ready)
        footer = app.screen.query_one(FittedFooter)
        await pilot.press("ctrl+l")  # the run log's keys come first: more than fit
        await wait_until(pilot, lambda: "Follow" in shown(footer), what="the log's keys")
        await pilot.pause()
        assert shown(footer)[-1] == "more" and footer.hidden
        assert width(footer) <= 80  # nothing cut at the edge
        assert shown(footer)[:5] == ["Follow", "Fold", "Copy", "View", "Times"]
        await pilot.press("f1")  # "more" is help: every key
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")

        # the checkpoint browser's own footer fits the same way
        browser = await browse(pilot, app)
        inner = browser.query_one(FittedFooter)
        await pilot.pause()
        assert width(inner) <= 80 and shown(inner)[-1] in ("more", "palette")

        # wide enough: every key, no "more"
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.query(FittedFooter).first() is footer)
        await pilot.pause()
        assert not footer.hidden and "more" not in shown(footer)
