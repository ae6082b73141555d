"""Diagnostic sensors of the Ultrasonic Presence integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS,
    EntityCategory,
    UnitOfFrequency,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import UltrasonicPresenceConfigEntry
from .entity import UltrasonicPresenceEntity
from .uspd.detector import SHOWN_CLASSES
from .uspd.runner import SensorState

PARALLEL_UPDATES = 0

# Values are rounded to what is meaningful, so a steady sensor does not write a new
# state (and a recorder row) every second for noise in the last digit.

UNIT_DBFS = "dBFS"


def _rounded(value: float | None, digits: int | None) -> float | None:
    """`value` to `digits` decimals (None: a whole number); None (unknown) stays None."""
    return None if value is None else round(value, digits)


@dataclass(kw_only=True, frozen=True)
class UltrasonicPresenceSensorEntityDescription(SensorEntityDescription):
    """Describes an Ultrasonic Presence sensor."""

    value_fn: Callable[[SensorState], float | str | None]


SENSORS: tuple[UltrasonicPresenceSensorEntityDescription, ...] = (
    UltrasonicPresenceSensorEntityDescription(
        key="motion_level",
        translation_key="motion_level",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        suggested_display_precision=0,
        value_fn=lambda state: round(state.motion_level),
    ),
    # Its own entity, not an attribute of occupancy: it changes several times a minute
    # while people move, and every change would be a new occupancy state in the recorder.
    UltrasonicPresenceSensorEntityDescription(
        key="motion_class",
        translation_key="motion_class",
        device_class=SensorDeviceClass.ENUM,
        options=list(SHOWN_CLASSES),
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda state: state.motion_class,
    ),
    UltrasonicPresenceSensorEntityDescription(
        key="carrier_frequency",
        translation_key="carrier_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        suggested_unit_of_measurement=UnitOfFrequency.KILOHERTZ,
        suggested_display_precision=2,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: state.carrier_hz,
    ),
    UltrasonicPresenceSensorEntityDescription(
        key="snr",
        translation_key="snr",
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS,
        suggested_display_precision=0,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda state: round(state.snr_db),
    ),
    UltrasonicPresenceSensorEntityDescription(
        key="emission_level",
        translation_key="emission_level",
        native_unit_of_measurement=UNIT_DBFS,
        suggested_display_precision=1,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        # None (unknown) while the emission is off or paused.
        value_fn=lambda state: _rounded(state.emission_level_dbfs, 1),
    ),
    # How much of one core this room's pipeline takes on this host (uspd.load): the
    # margin a Raspberry Pi has before audio drops out, and for how many more rooms.
    UltrasonicPresenceSensorEntityDescription(
        key="processing_load",
        translation_key="processing_load",
        native_unit_of_measurement=PERCENTAGE,
        suggested_display_precision=0,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        # Whole percent, averaged over 30 s: a steady load writes no new state.
        value_fn=lambda state: _rounded(state.processing_load_percent, None),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: UltrasonicPresenceConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the diagnostic sensors."""
    async_add_entities(
        UltrasonicPresenceSensor(entry.runtime_data, description) for description in SENSORS
    )


class UltrasonicPresenceSensor(UltrasonicPresenceEntity, SensorEntity):
    """A number the engine reports with every state."""

    entity_description: UltrasonicPresenceSensorEntityDescription

    @property
    @override
    def native_value(self) -> float | str | None:
        """Return the current value."""
        return self.entity_description.value_fn(self.coordinator.data)
