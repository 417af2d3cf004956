"""Pick a plugin source (a .go file, a directory or a prebuilt plugin) from the file system."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DirectoryTree, Label

from plugwiz.ui.dialogs.base import Dialog


class PluginTree(DirectoryTree):
    """Directories and files; no hidden entries (a prebuilt plugin may have any extension)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")]


class FilePickerDialog(Dialog[Path | None]):
    """Starts in the project's directory; backspace (or "Up") goes to the parent. Enter on a
    file picks it; "Use directory" picks the highlighted directory."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("backspace", "up", "Parent directory"),
    ]
    AUTO_FOCUS = "#picker-tree"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()
        self.highlighted: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-tall"):
            yield Label(self._title(), classes="dialog-title", id="picker-title")
            yield PluginTree(self.root, id="picker-tree")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Up", id="up")
                yield Button("Cancel", id="cancel")
                yield Button("Use directory", id="use-dir", variant="primary")

    def _title(self) -> str:
        try:
            shown = f"./{self.root.relative_to(Path.cwd().resolve())}".removesuffix("/.")
        except ValueError:
            shown = str(self.root)
        return f"Pick a plugin in {shown}  (backspace: up)"

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def on_tree_node_highlighted(self, event: PluginTree.NodeHighlighted[object]) -> None:
        data = event.node.data
        self.highlighted = getattr(data, "path", None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "up":
            self.action_up()
        elif event.button.id == "use-dir" and self.highlighted is not None:
            path = self.highlighted
            self.dismiss(path if path.is_dir() else path.parent)
        else:
            self.dismiss(None)

    def action_up(self) -> None:
        """Show the parent directory."""
        parent = self.root.parent
        if parent == self.root:
            return
        self.root = parent
        tree = self.query_one("#picker-tree", PluginTree)
        tree.path = parent
        self.query_one("#picker-title", Label).update(self._title())

    def action_cancel(self) -> None:
        self.dismiss(None)
