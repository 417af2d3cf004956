"""The footer of every step: Textual's, without composing its keys again for a dialog."""

from __future__ import annotations

from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # Textual private (pinned): the key widget

# What a key in the footer shows and does: key, key display, description, action, enabled,
# tooltip, whether it is the command palette's key (docked right).
KeySignature = tuple[str, str, str, str, bool, object, bool]


class StepFooter(Footer):
    """Textual's Footer, which composes all its keys again whenever the bindings may have
    changed. A dialog opening over a step hides the step keys (`PlugwizApp.check_action`)
    and closing it shows them again: two recomposes of this footer (keys unmounted, mounted,
    styled, laid out) per dialog, 20-30 ms each at 120x40, under or just after the dialog.
    When the keys to show are some of the keys it has, in the same order and the same in all
    else, this footer hides and shows those instead (the same picture); otherwise, or with
    grouped keys, it composes them again as Textual does."""

    async def recompose(self) -> None:
        if not self._show_only(self.keys_to_show()):
            await super().recompose()

    def keys_to_show(self) -> list[KeySignature] | None:
        """The keys `Footer.compose` would yield now, or None with grouped keys (which it
        yields in containers)."""
        if not self._bindings_ready:  # Textual private (pinned): compose yields nothing yet
            return []
        app = self.app
        active_bindings = self.screen.active_bindings
        first_by_action: dict[str, KeySignature] = {}
        for _node, binding, enabled, tooltip in active_bindings.values():
            if not binding.show:
                continue
            if binding.group is not None:
                return None
            if binding.action not in first_by_action:
                first_by_action[binding.action] = (
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    enabled,
                    tooltip or None,
                    False,
                )
        keys = list(first_by_action.values())
        if self.show_command_palette and app.ENABLE_COMMAND_PALETTE:
            palette = active_bindings.get(app.COMMAND_PALETTE_BINDING)
            if palette is not None:
                _node, binding, enabled, _tooltip = palette
                keys.append(
                    (
                        binding.key,
                        app.get_key_display(binding),
                        binding.description,
                        binding.action,
                        enabled,
                        binding.tooltip or binding.description or None,
                        True,
                    )
                )
        return keys

    def _show_only(self, keys: list[KeySignature] | None) -> bool:
        """Show exactly `keys` by hiding and showing the keys this footer has; False if it
        does not have them all (in this order)."""
        if keys is None:
            return False
        children = list(self.children)
        if not all(isinstance(child, FooterKey) for child in children):
            return False
        shown: list[FooterKey] = []
        wanted = iter(keys)
        next_key = next(wanted, None)
        for child in children:
            assert isinstance(child, FooterKey)
            if next_key is not None and _signature(child) == next_key:
                shown.append(child)
                next_key = next(wanted, None)
        if next_key is not None:
            return False
        self.styles.grid_size_columns = sum(1 for key in keys if not key[6])
        for child in children:
            child.display = child in shown
        return True


def _signature(key: FooterKey) -> KeySignature:
    return (
        key.key,
        key.key_display,
        key.description,
        key.action,
        not key.has_class("-disabled"),
        key.tooltip or None,
        key.has_class("-command-palette"),
    )
