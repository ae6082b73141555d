"""Push-based coordinator: the engine's PresenceRunner feeds Home Assistant."""

from __future__ import annotations

from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HassJob,
    HomeAssistant,
    callback,
)
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import (
    CONF_CALIBRATION,
    CONF_QUIET_ENTITIES,
    CONF_QUIET_TIME,
    CONF_SOURCE,
    DEFAULT_QUIET_TIME,
    DOMAIN,
    ERROR_AUTH_FAILED,
    HEALTH_ISSUE_DELAY,
    ISSUE_HEALTH,
    ISSUE_UNAVAILABLE,
    KNOWN_HEALTH_PROBLEMS,
    LOGGER,
    MIN_WRITE_INTERVAL,
    QUIET_INACTIVE_STATES,
    UNAVAILABLE_ISSUE_DELAY,
)
from .uspd.audio.factory import SourceSpec
from .uspd.audio.source import SourceError
from .uspd.dsp.calibration import CalibrationResult
from .uspd.runner import (
    PresenceRunner,
    RunnerOptions,
    SensorState,
    check_hardware,
)

type UltrasonicPresenceConfigEntry = ConfigEntry[UltrasonicPresenceCoordinator]


def source_error_code(err: SourceError) -> str | None:
    """Return the machine-readable code of a SourceError (None if it has none)."""
    code = getattr(err, "code", None)
    return code if isinstance(code, str) else None


class UltrasonicPresenceCoordinator(DataUpdateCoordinator[SensorState]):
    """Own one PresenceRunner and hand its states to the entities.

    The runner processes audio in its own worker thread and calls back from there;
    the callbacks only hop onto the event loop. Updates that change occupancy, the
    motion class or the emission switch are written at once; everything else (the
    motion level and diagnostics) at most once per MIN_WRITE_INTERVAL.
    """

    config_entry: UltrasonicPresenceConfigEntry

    def __init__(self, hass: HomeAssistant, entry: UltrasonicPresenceConfigEntry) -> None:
        """Read the source, calibration and options from the entry."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=None,
        )
        self.spec = SourceSpec.from_dict(entry.data[CONF_SOURCE])
        self.calibration = CalibrationResult.from_dict(entry.data[CONF_CALIBRATION])
        self.options = RunnerOptions.from_dict(dict(entry.options))
        # Switches whose turning on starts an interferer (a fan an automation runs):
        # new motion is ignored for quiet_time seconds after (OccupancyDetector).
        self.quiet_entities: list[str] = list(entry.options.get(CONF_QUIET_ENTITIES, []))
        self.quiet_time = float(entry.options.get(CONF_QUIET_TIME, DEFAULT_QUIET_TIME))
        self._quiet_unsub: CALLBACK_TYPE | None = None
        # Entities and the device are keyed by the entry, not by the source's unique
        # id: reconfiguring onto another sound card keeps the entities and history.
        self.device_id: str = entry.entry_id
        self.runner: PresenceRunner | None = None
        self.unavailable_reason: str | None = None
        self.unavailable_code: str | None = None
        self._reauth_started = False
        self._stopped = False
        self._pending: SensorState | None = None
        self._last_write = 0.0
        self._flush_unsub: CALLBACK_TYPE | None = None
        self._flush_job = HassJob(self._async_flush, cancel_on_shutdown=True)
        self._health_problem: str | None = None
        self._health_since: float | None = None
        self._unavailable_unsub: CALLBACK_TYPE | None = None
        self._unavailable_job = HassJob(self._async_unavailable_too_long, cancel_on_shutdown=True)

    @property
    def issue_id(self) -> str:
        """Repair issue id of this entry's health problem."""
        return f"{ISSUE_HEALTH}_{self.config_entry.entry_id}"

    @property
    def unavailable_issue_id(self) -> str:
        """Repair issue id of this entry's long unavailability."""
        return f"{ISSUE_UNAVAILABLE}_{self.config_entry.entry_id}"

    async def async_start(self) -> None:
        """Check the hardware, then start the runner's worker thread."""
        try:
            await self.hass.async_add_executor_job(check_hardware, self.spec)
        except SourceError as err:
            if source_error_code(err) == ERROR_AUTH_FAILED:
                raise ConfigEntryAuthFailed(
                    translation_domain=DOMAIN,
                    translation_key="auth_failed",
                ) from err
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="hardware_unavailable",
                translation_placeholders={"error": str(err)},
            ) from err
        # Building the runner may load the model: keep it off the event loop too.
        self.runner = await self.hass.async_add_executor_job(
            partial(
                PresenceRunner,
                self.spec,
                self.calibration,
                self.options,
                self._on_state,
                self._on_availability,
                on_calibrated=self._on_calibrated,
            )
        )
        await self.hass.async_add_executor_job(self.runner.start)
        if self.quiet_entities:
            self._quiet_unsub = async_track_state_change_event(
                self.hass, self.quiet_entities, self._async_interferer_changed
            )

    async def async_stop(self) -> None:
        """Stop the worker thread and drop anything still scheduled (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._quiet_unsub is not None:
            self._quiet_unsub()
            self._quiet_unsub = None
        if self._flush_unsub is not None:
            self._flush_unsub()
            self._flush_unsub = None
        self._cancel_unavailable_issue()
        if self.runner is not None:
            await self.hass.async_add_executor_job(self.runner.stop)
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)

    # -- worker thread side ---------------------------------------------------------

    def _on_state(self, state: SensorState) -> None:
        """Runner callback (worker thread): hop onto the event loop."""
        self._call_soon(self.async_handle_state, state)

    def _on_availability(self, available: bool, message: str | None) -> None:
        """Runner callback (worker thread): hop onto the event loop.

        The outage's error code is read here, on the worker thread that just set it,
        not later on the loop when the runner may have moved on.
        """
        code = self.runner.last_error_code if self.runner is not None else None
        self._call_soon(self.async_handle_availability, available, message, code)

    def _on_calibrated(self, calibration: CalibrationResult) -> None:
        """Runner callback (worker thread): a recalibration finished."""
        self._call_soon(self.async_handle_calibration, calibration)

    def _call_soon(self, func: Any, *args: Any) -> None:
        if self._stopped:
            return
        try:
            self.hass.loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # the loop is closing; nothing left to update
            return

    # -- event loop side ------------------------------------------------------------

    @callback
    def _async_interferer_changed(self, event: Event[EventStateChangedData]) -> None:
        """A chosen switch turned on: new motion is ignored for the quiet time (its fan
        spins up through walking speeds). Only a start counts: off → on, not on → on."""
        new, old = event.data["new_state"], event.data["old_state"]
        if self._stopped or self.runner is None or new is None:
            return
        if new.state in QUIET_INACTIVE_STATES:
            return
        if old is not None and old.state not in QUIET_INACTIVE_STATES:
            return
        LOGGER.debug("%s turned on: ignoring new motion for %g s", new.entity_id, self.quiet_time)
        # Appends to a list under the runner's lock: nothing here blocks the loop.
        self.runner.ignore_new_motion(self.quiet_time, f"{new.entity_id} switched on")

    @callback
    def async_handle_state(self, state: SensorState) -> None:
        """Take a new state; write it now or coalesce it (rate limit)."""
        if self._stopped:
            return
        previous = self.data
        urgent = (
            previous is None
            or not self.last_update_success
            or state.occupied != previous.occupied
            or state.motion_class != previous.motion_class
            or state.emission_enabled != previous.emission_enabled
        )
        now = self.hass.loop.time()
        if urgent or now - self._last_write >= MIN_WRITE_INTERVAL:
            self._write(state, now)
            return
        self._pending = state
        if self._flush_unsub is None:
            self._flush_unsub = async_call_later(
                self.hass, MIN_WRITE_INTERVAL - (now - self._last_write), self._flush_job
            )

    @callback
    def _async_flush(self, _now: Any) -> None:
        """Write the newest coalesced state."""
        self._flush_unsub = None
        if self._pending is not None and not self._stopped:
            self._write(self._pending, self.hass.loop.time())

    @callback
    def _write(self, state: SensorState, now: float) -> None:
        self._pending = None
        if self._flush_unsub is not None:
            self._flush_unsub()
            self._flush_unsub = None
        self._last_write = now
        if self.unavailable_reason is not None:
            self._log_back()
        self.async_set_updated_data(state)
        self._async_check_runner()

    @callback
    def async_handle_availability(
        self, available: bool, message: str | None, code: str | None = None
    ) -> None:
        """The source failed (or came back): entities follow, logged once each way.

        A node that refuses the key (it was given a new one) starts the
        reauthentication flow, once per outage; the runner keeps retrying meanwhile,
        and a successful reauthentication reloads the entry with the new key. The runner
        calls back again when an outage's cause changes (a node that lost the link
        comes back with a new key), so no polling is needed.
        """
        if self._stopped:
            return
        if available:
            if self.unavailable_reason is not None:
                self._log_back()
                self.last_update_success = True
                self.async_update_listeners()
            return
        self._async_note_error_code(code)
        reason = message or "unknown error"
        if self.unavailable_reason is None:
            LOGGER.warning("%s is unavailable: %s", self.config_entry.title, reason)
            self._unavailable_unsub = async_call_later(
                self.hass, UNAVAILABLE_ISSUE_DELAY, self._unavailable_job
            )
        self.unavailable_reason = reason
        self._pending = None
        if self.last_update_success:
            self.last_update_success = False
            self.async_update_listeners()

    @callback
    def _async_note_error_code(self, code: str | None) -> None:
        """Remember the outage's cause; a refused node key asks for the new key, once."""
        self.unavailable_code = code
        if code == ERROR_AUTH_FAILED and not self._reauth_started:
            self._reauth_started = True
            LOGGER.warning("%s refused the key: asking for the new one", self.config_entry.title)
            self.config_entry.async_start_reauth(self.hass)

    def _log_back(self) -> None:
        LOGGER.info("%s is available again", self.config_entry.title)
        self.unavailable_reason = None
        self.unavailable_code = None
        self._reauth_started = False
        self._cancel_unavailable_issue()

    @callback
    def _async_unavailable_too_long(self, _now: Any) -> None:
        """Still unavailable after UNAVAILABLE_ISSUE_DELAY: tell the user in Repairs."""
        self._unavailable_unsub = None
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.unavailable_issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_UNAVAILABLE,
            translation_placeholders={
                "title": self.config_entry.title,
                "reason": self.unavailable_reason or "unknown error",
            },
        )

    def _cancel_unavailable_issue(self) -> None:
        if self._unavailable_unsub is not None:
            self._unavailable_unsub()
            self._unavailable_unsub = None
        ir.async_delete_issue(self.hass, DOMAIN, self.unavailable_issue_id)

    @callback
    def _async_check_runner(self) -> None:
        """Raise a repair issue for a health problem that persists, clear it when gone.

        The runner reports a problem per frame; only one that lasts
        HEALTH_ISSUE_DELAY seconds becomes an issue, so a moment of lost carrier
        (someone standing in front of the speaker) does not nag the user.
        """
        problem = self.require_runner().health_problem
        if problem is None:
            self._health_since = None
            if self._health_problem is not None:
                self._health_problem = None
                ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
            return
        # The text may change while the problem lasts (it carries measured dB).
        now = self.hass.loop.time()
        if self._health_since is None:
            self._health_since = now
        if self._health_problem is not None or now - self._health_since < HEALTH_ISSUE_DELAY:
            return
        self._health_problem = problem
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.issue_id,
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=problem if problem in KNOWN_HEALTH_PROBLEMS else ISSUE_HEALTH,
            translation_placeholders={"title": self.config_entry.title, "problem": problem},
            data={"entry_id": self.config_entry.entry_id},
        )

    @callback
    def async_handle_calibration(self, calibration: CalibrationResult) -> None:
        """Keep a new calibration in the entry so the next start uses it."""
        if self._stopped:
            return
        LOGGER.info(
            "%s recalibrated: carrier %.0f Hz at %.1f dBFS, SNR %.1f dB",
            self.config_entry.title,
            calibration.carrier_hz,
            calibration.level_dbfs,
            calibration.snr_db,
        )
        self.calibration = calibration
        self.hass.config_entries.async_update_entry(
            self.config_entry,
            data={**self.config_entry.data, CONF_CALIBRATION: calibration.to_dict()},
        )
        self.async_update_listeners()

    # -- actions ----------------------------------------------------------------------

    def require_runner(self) -> PresenceRunner:
        """The runner (it exists from setup until unload)."""
        assert self.runner is not None
        return self.runner

    async def async_set_emission(self, enabled: bool) -> None:
        """Turn the ultrasonic emission on or off."""
        await self.hass.async_add_executor_job(self.require_runner().set_emission_enabled, enabled)

    async def async_recalibrate(self) -> None:
        """Ask the runner to re-run calibration in its worker thread."""
        await self.hass.async_add_executor_job(self.require_runner().request_recalibration)
