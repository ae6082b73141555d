"""Constants for the Ultrasonic Presence integration."""

from __future__ import annotations

import logging
from typing import Final, get_args

from .uspd.audio.source import ERROR_CODES as ENGINE_ERROR_CODES
from .uspd.detector import DEFAULT_QUIET_S
from .uspd.dsp.frontend import MAX_CHANNELS as ENGINE_MAX_CHANNELS
from .uspd.node.client import DEFAULT_PORT
from .uspd.runner import Band

DOMAIN: Final = "ultrasonic_presence"
LOGGER = logging.getLogger(__package__)

# Config entry data: the source spec and the calibration that was accepted.
CONF_SOURCE: Final = "source"
CONF_CALIBRATION: Final = "calibration"

# Source kinds (SourceSpec.kind) and their form fields.
SOURCE_SIMULATED: Final = "simulated"
SOURCE_SOUNDCARD: Final = "soundcard"
SOURCE_NODE: Final = "node"
SOURCE_KINDS: Final = (SOURCE_SIMULATED, SOURCE_SOUNDCARD, SOURCE_NODE)

CONF_INPUT_DEVICE: Final = "input_device"
CONF_OUTPUT_DEVICE: Final = "output_device"
CONF_SAMPLE_RATE: Final = "sample_rate"
CONF_KEY: Final = "key"
CONF_CHANNELS: Final = "channels"

SIMULATED_PARAMS: Final = {
    "scenario": "demo_room",
    "seed": 1,
    "sample_rate": 96000,
    "mics": 4,
}
DEFAULT_DEVICE: Final = "default"
DEFAULT_SAMPLE_RATE: Final = 96000
SAMPLE_RATES: Final = (44100, 48000, 96000, 192000)
MAX_CHANNELS: Final = ENGINE_MAX_CHANNELS
DEFAULT_NODE_PORT: Final = DEFAULT_PORT

# Options: the RunnerOptions field names.
CONF_SENSITIVITY: Final = "sensitivity"
CONF_HOLD_TIME: Final = "hold_time_s"
CONF_MINOR_WINDOW: Final = "minor_window_s"
CONF_EMISSION_PAUSE: Final = "emission_pause_s"
CONF_MAX_LEVEL: Final = "max_level_dbfs"
CONF_BAND: Final = "band"
BANDS: Final = get_args(Band)
# Options kept by the adapter (not RunnerOptions): interferers Home Assistant switches.
CONF_QUIET_ENTITIES: Final = "quiet_after_entities"
CONF_QUIET_TIME: Final = "quiet_after_s"
DEFAULT_QUIET_TIME: Final = DEFAULT_QUIET_S  # why 3 s: its docstring
QUIET_DOMAINS: Final = (
    "fan",
    "switch",
    "climate",
    "humidifier",
    "input_boolean",
    "binary_sensor",
)
QUIET_INACTIVE_STATES: Final = frozenset({"off", "idle", "standby", "unavailable", "unknown"})
"""States an interferer is off in; a change from one of these to any other is its start."""

# SourceError.code values the engine raises.
ERROR_DEVICE_NOT_FOUND: Final = "device_not_found"
ERROR_SAMPLE_RATE_TOO_LOW: Final = "sample_rate_too_low"
ERROR_NO_ULTRASONIC_RESPONSE: Final = "no_ultrasonic_response"
ERROR_DISCONNECTED: Final = "disconnected"
ERROR_CORRUPT: Final = "corrupt"
ERROR_AUTH_FAILED: Final = "auth_failed"
KNOWN_ERRORS: Final = ENGINE_ERROR_CODES

# Entity updates that do not change occupancy or motion class are written at most
# this often (seconds), so the state machine and recorder are not flooded.
MIN_WRITE_INTERVAL: Final = 1.0

# Action
SERVICE_CAPTURE_CLIP: Final = "capture_clip"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_SECONDS: Final = "seconds"
ATTR_LABEL: Final = "label"
CLIP_LABELS: Final = ("false_alarm", "missed", "other")
CLIPS_DIR: Final = "clips"

ISSUE_HEALTH: Final = "health_problem"
ISSUE_UNAVAILABLE: Final = "source_unavailable"
# Unavailable this long (seconds) → a repair issue; entities are unavailable at once.
UNAVAILABLE_ISSUE_DELAY: Final = 300.0
# Health problems the runner reports by code that have their own repair text.
KNOWN_HEALTH_PROBLEMS: Final = frozenset({"carrier_lost"})
# A health problem must persist this long (seconds) before it becomes a repair issue.
HEALTH_ISSUE_DELAY: Final = 60.0

ZEROCONF_TYPE: Final = "_uspd._tcp.local."
