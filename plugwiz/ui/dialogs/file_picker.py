"""Pick a plugin source (a .go file, a directory or a .so) from a directory tree."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Label


class PluginTree(DirectoryTree):
    """Directories, Go files and shared objects; no hidden entries."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [
            p
            for p in paths
            if not p.name.startswith(".") and (p.is_dir() or p.suffix in (".go", ".so"))
        ]


class FilePickerDialog(ModalScreen[Path | None]):
    """Enter on a file picks it; "Use directory" picks the highlighted directory."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.highlighted: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog dialog-tall"):
            yield Label(f"Pick a plugin source under {self.root}", classes="dialog-title")
            yield PluginTree(self.root, id="picker-tree")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Use directory", id="use-dir", variant="primary")

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(event.path)

    def on_tree_node_highlighted(self, event: PluginTree.NodeHighlighted[object]) -> None:
        data = event.node.data
        self.highlighted = getattr(data, "path", None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "use-dir" and self.highlighted is not None:
            path = self.highlighted
            self.dismiss(path if path.is_dir() else path.parent)
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
