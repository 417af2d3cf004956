"""The stages of a build beside its log: a tree (wide terminals) or a one-line bar (small ones).

Both draw a `BuildTimeline` (core): each stage and its rows with their state (waiting,
running, cached, done, failed...) and duration, and for a custom plugin the user's file it
is built from. Selecting a stage or a row (enter) asks the screen to filter the log to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.content import Content
from textual.markup import escape
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from plugwiz.core.timeline import (
    BuildTimeline,
    StageKind,
    StageRow,
    StageStatus,
    Status,
    format_seconds,
)
from plugwiz.ui.widgets.scrolling import GrowsInPlace

# Each state's icon, and its colour as theme markup (the tree's are its component classes).
ICONS: dict[Status, tuple[str, str]] = {
    Status.WAITING: ("○", "$text-muted"),
    Status.RUNNING: ("●", "bold $text-accent"),
    Status.CACHED: ("✓", "$text-primary"),
    Status.DONE: ("✓", "$text-success"),
    Status.FAILED: ("✗", "bold $text-error"),
    Status.STOPPED: ("■", "$text-warning"),
    Status.NOT_RUN: ("–", "$text-muted"),
}
# The words a state shows beside its duration (done and running show only the time).
WORDS: dict[Status, str] = {
    Status.WAITING: "waiting",
    Status.CACHED: "cached",
    Status.FAILED: "failed",
    Status.STOPPED: "stopped",
    Status.NOT_RUN: "not run",
}
NAME_WIDTH = 17  # the name column of a label, in cells, until the tree knows its width
BAR_NAMES = {"host": "host", "check": "check", "runtime": "runtime", "smoke": "smoke"}


@dataclass(frozen=True)
class StageRef:
    """What a node of the tree stands for: a stage or a row of one (its steps), or the
    whole build (`steps` None)."""

    key: str
    label: str
    steps: frozenset[int] | None


def describe(status: StageStatus) -> str:
    """`cached 0.4s`, `1:05`, `failed 2.1s`, `waiting`: a state and a duration in words."""
    word = WORDS.get(status.status, "")
    if status.status in (Status.WAITING, Status.NOT_RUN):
        return word
    seconds = format_seconds(status.seconds)
    return f"{word} {seconds}" if word else seconds


DESCRIBE_WIDTH = 13  # "cached 1:02:03"


def stage_label(name: str, status: StageStatus, width: int = NAME_WIDTH) -> Text:
    """One line of the tree: icon, name (cut to `width`), state and duration."""
    icon = ICONS[status.status][0]
    if len(name) > width:
        name = name[: width - 1] + "…"
    said = describe(status)
    # Padding trails each part (a space that starts a styled run is lost in some SVG views).
    pad = " " * (width - len(name) + 1 + max(0, DESCRIBE_WIDTH - len(said)))
    text = Text(f"{icon} ")
    text.append(name + pad, style="bold" if status.status is Status.RUNNING else "")
    text.append(said, style="dim" if status.status.finished else "")
    return text


class StageTree(GrowsInPlace, Tree[StageRef]):
    """The build's stages and their rows, drawn from a timeline."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"stage-tree--{s.name.lower()}" for s in Status}
    DEFAULT_CSS = """
    StageTree { width: 44; }
    StageTree > .stage-tree--waiting { color: $text-muted; }
    StageTree > .stage-tree--running { color: $text-accent; text-style: bold; }
    StageTree > .stage-tree--cached { color: $text-primary; }
    StageTree > .stage-tree--done { color: $text-success; }
    StageTree > .stage-tree--failed { color: $text-error; text-style: bold; }
    StageTree > .stage-tree--stopped { color: $text-warning; }
    StageTree > .stage-tree--not_run { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        self._status: dict[int, Status] = {}  # node id -> its state, for the icon's colour
        self._shape: tuple[tuple[str, tuple[StageRow, ...]], ...] = ()
        self._auto_expanded: set[str] = set()
        super().__init__("build", data=StageRef("", "all stages", None), id=id)
        self.show_root = True
        self.guide_depth = 2

    def _invalidate(self) -> None:
        # Tree's own, less the layout of the whole screen it asks for with every node added,
        # removed, opened or closed: this tree's size on screen is fixed by the CSS, and its
        # lines (and scrollbar, see GrowsInPlace) are rebuilt when it is next drawn.
        self._clear_line_cache()
        self._updates += 1
        self.root._reset()
        self.refresh()

    def render_label(self, node: TreeNode[StageRef], base_style: Style, style: Style) -> Text:
        text = super().render_label(node, base_style, style)
        status = self._status.get(node.id)
        if status is not None:
            start = len(self.ICON_NODE) if node.allow_expand else 0
            icon_style = self.get_component_rich_style(f"stage-tree--{status.name.lower()}")
            text.stylize(icon_style, start, start + 2)
        return text

    def show(self, timeline: BuildTimeline, now: float) -> None:
        """Draw `timeline` as it is at `now` (a running stage's time grows with it)."""
        shape = tuple((s.key, s.rows) for s in timeline.stages)
        if shape != self._shape:
            self._rebuild(timeline)
            self._shape = shape
        self._label_all(timeline, now)

    def _rebuild(self, timeline: BuildTimeline) -> None:
        root = self.root
        expanded = {
            node.data.key for node in root.children if node.data is not None and node.is_expanded
        }
        root.remove_children()
        for stage in timeline.stages:
            # A custom plugin's rows are open from the start: they name the user's file.
            node = root.add(
                stage.label,
                data=StageRef(stage.key, stage.label, frozenset(stage.steps)),
                expand=stage.key in expanded or stage.kind is StageKind.PLUGIN,
                allow_expand=len(stage.rows) > 0,
            )
            for index, row in enumerate(stage.rows):
                node.add_leaf(
                    row.label,
                    data=StageRef(f"{stage.key}#{index}", row.label, frozenset(row.steps)),
                )
        root.expand()

    def _label_all(self, timeline: BuildTimeline, now: float) -> None:
        cached, could = timeline.cached_share()
        total = format_seconds(timeline.seconds(now)) if timeline.started else ""
        share = f"  {cached} of {could} cached" if could else ""
        title = Text("build  ", style="bold")
        if total:
            title.append(f"{total}{share}", style="dim")
        self.root.set_label(title)
        # The names take what the tree's width leaves: guides, toggle, icon, the state.
        width = self.content_size.width or 44
        name_width = max(10, width - 8 - DESCRIBE_WIDTH)
        stages = {s.key: s for s in timeline.stages}
        for node in self.root.children:
            ref = node.data
            if ref is None or ref.key not in stages:
                continue
            stage = stages[ref.key]
            status = timeline.stage_status(stage, now)
            self._status[node.id] = status.status
            node.set_label(stage_label(stage.label, status, name_width))
            self._auto_expand(node, stage.key, status.status)
            for child, row in zip(node.children, stage.rows, strict=False):
                row_status = timeline.row_status(stage, row, now)
                self._status[child.id] = row_status.status
                child.set_label(stage_label(row.label, row_status, name_width))

    def _auto_expand(self, node: TreeNode[StageRef], key: str, status: Status) -> None:
        """Open the stage that runs or failed; close it again when it is done (unless the
        user opened it)."""
        if status in (Status.RUNNING, Status.FAILED):
            if not node.is_expanded:
                node.expand()
                self._auto_expanded.add(key)
        elif key in self._auto_expanded and status.finished:
            self._auto_expanded.discard(key)
            node.collapse()


class StageBar(Static):
    """The stages in one line, for a small terminal: icon and name each, the running one
    with its time; the filtered one stands out."""

    DEFAULT_CSS = """
    StageBar { height: 1; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def show(self, timeline: BuildTimeline, now: float, selected: str = "") -> None:
        """Draw `timeline` at `now`; the stage with key `selected` is highlighted."""
        parts: list[str] = []
        for stage in timeline.stages:
            status = timeline.stage_status(stage, now)
            icon, style = ICONS[status.status]
            name = escape(BAR_NAMES.get(stage.key, stage.plugin or stage.label))
            if status.status is Status.RUNNING:
                name += f" {format_seconds(status.seconds)}"
            part = f"[{style}]{icon}[/] {name}"
            parts.append(f"[reverse]{part}[/reverse]" if stage.key == selected else part)
        parts.append("[$text-muted]t: stages[/]")
        self.update(Content.from_markup("  ".join(parts)), layout=False)  # one fixed line
