"""Repair flows of the Ultrasonic Presence integration."""

from __future__ import annotations

import probatio
from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from .coordinator import UltrasonicPresenceConfigEntry


class RecalibrateRepairFlow(RepairsFlow):
    """Fix a health problem (carrier lost, SNR dropped...) by recalibrating."""

    def __init__(self, entry_id: str) -> None:
        """Remember which entry the issue is about."""
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Recalibrate once the user confirms."""
        if user_input is not None:
            entry: UltrasonicPresenceConfigEntry | None = self.hass.config_entries.async_get_entry(
                self._entry_id
            )
            if entry is None or entry.state is not ConfigEntryState.LOADED:
                return self.async_abort(reason="not_loaded")
            await entry.runtime_data.async_recalibrate()
            return self.async_create_entry(data={})
        placeholders = None
        if issue := ir.async_get(self.hass).async_get_issue(self.handler, self.issue_id):
            placeholders = issue.translation_placeholders
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            description_placeholders=placeholders,
        )


async def async_create_fix_flow(
    hass: HomeAssistant,
    issue_id: str,
    data: dict[str, str | int | float | None] | None,
) -> RepairsFlow:
    """Create the fix flow of a health issue."""
    assert data is not None
    return RecalibrateRepairFlow(str(data["entry_id"]))
