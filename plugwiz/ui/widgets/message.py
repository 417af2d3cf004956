"""A styled area that explains an error, a warning or a hint in place."""

from __future__ import annotations

from textual.widgets import Static


class MessageArea(Static):
    """Shows one message with a severity style; hidden while empty."""

    DEFAULT_CSS = """
    MessageArea {
        display: none;
        height: auto;
        padding: 0 1;
        margin: 1 0 0 0;
        border-left: thick $primary;
        background: $boost;
    }
    MessageArea.-visible { display: block; }
    MessageArea.-error { border-left: thick $error; color: $text; background: $error 15%; }
    MessageArea.-warning { border-left: thick $warning; background: $warning 12%; }
    MessageArea.-success { border-left: thick $success; background: $success 12%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.text = ""

    def show(self, text: str, severity: str = "info") -> None:
        """Show `text`; severity is info, success, warning or error."""
        self.text = text
        self.update(text)
        self.set_class(severity == "error", "-error")
        self.set_class(severity == "warning", "-warning")
        self.set_class(severity == "success", "-success")
        self.set_class(bool(text), "-visible")

    def clear(self) -> None:
        """Hide the message."""
        self.show("")
