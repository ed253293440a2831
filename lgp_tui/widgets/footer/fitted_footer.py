"""A footer that never cuts a key in half.

Textual's footer lays its keys out in a row and lets the last ones fall off the
edge (at 80 columns the main screen lost ``^s Server``, ``f4 Edit`` and ``f1 Help``
as soon as the run log had focus). This one shows the keys that fit, in their
order (the focused widget's first), and when some do not, ends with one ``f1 more``
key: the help screen lists every key of the screen and the app.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

MORE_KEY = "f1"


class FittedFooter(Footer):
    """:class:`~textual.widgets.Footer` with the keys that fit and ``f1 more``."""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        if self._bindings_ready:
            yield FooterKey(
                MORE_KEY,
                MORE_KEY,
                "more",
                "app.help",
                classes="-more",
                tooltip="Every key of this screen and of the workbench",
            ).data_bind(compact=Footer.compact)

    async def recompose(self) -> None:
        await super().recompose()
        self._fit()

    def on_resize(self) -> None:
        self._fit()

    @property
    def hidden(self) -> list[str]:
        """The descriptions of the keys left out (behind ``f1 more``)."""
        return [k.description for k in self._keys() if not k.display]

    def _keys(self) -> list[FooterKey]:
        return [k for k in self.query(FooterKey) if not k.has_class("-more")]

    def _fit(self) -> None:
        width = self.size.width
        if not width:
            return
        keys = self._keys()
        more = list(self.query(".-more").results(FooterKey))
        widths = [_cells(key) for key in keys]
        fits = sum(widths) <= width
        if not fits:
            budget = width - sum(_cells(m) for m in more)
            gap = False  # the keys keep their order: none shown after one left out
            for key, cells in zip(keys, widths, strict=True):
                key.display = not gap and cells <= budget
                if key.display:
                    budget -= cells
                else:
                    gap = True
        else:
            for key in keys:
                key.display = True
        for key in more:
            key.display = not fits


def _cells(key: FooterKey) -> int:
    """The key's width (its width is its text's: ``width: auto``)."""
    return key.render().cell_len
