"""Config flow of the Ultrasonic Presence integration.

source choice → source details → hardware check → calibration (progress) → result → entry.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from ipaddress import ip_address
from typing import Any, override

import probatio
from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo

from .const import (
    BANDS,
    CONF_BAND,
    CONF_CALIBRATION,
    CONF_CHANNELS,
    CONF_EMISSION_PAUSE,
    CONF_HOLD_TIME,
    CONF_INPUT_DEVICE,
    CONF_KEY,
    CONF_MAX_LEVEL,
    CONF_MINOR_WINDOW,
    CONF_OUTPUT_DEVICE,
    CONF_QUIET_ENTITIES,
    CONF_QUIET_TIME,
    CONF_SAMPLE_RATE,
    CONF_SENSITIVITY,
    CONF_SOURCE,
    DEFAULT_DEVICE,
    DEFAULT_NODE_PORT,
    DEFAULT_QUIET_TIME,
    DEFAULT_SAMPLE_RATE,
    DOMAIN,
    ERROR_AUTH_FAILED,
    ERROR_DEVICE_NOT_FOUND,
    ERROR_DISCONNECTED,
    KNOWN_ERRORS,
    LOGGER,
    MAX_CHANNELS,
    QUIET_DOMAINS,
    SAMPLE_RATES,
    SIMULATED_PARAMS,
    SOURCE_KINDS,
    SOURCE_NODE,
    SOURCE_SIMULATED,
    SOURCE_SOUNDCARD,
    ZEROCONF_TYPE,
)
from .coordinator import UltrasonicPresenceConfigEntry
from .uspd.audio.factory import SourceSpec, available_kinds, node_unique_id
from .uspd.audio.source import SourceError
from .uspd.dsp.calibration import CalibrationError, CalibrationResult
from .uspd.node.keys import decode_key, is_node_id, node_id
from .uspd.runner import RunnerOptions, check_hardware, run_calibration


def _source_schema() -> probatio.Schema:
    """The source choice, offering only the kinds this engine build can open."""
    kinds = [kind for kind in SOURCE_KINDS if kind in available_kinds()]
    # Form field and entry data share the name "source"; the form value is the kind.
    return probatio.Schema(
        {
            probatio.Required(CONF_SOURCE, default=SOURCE_SIMULATED): SelectSelector(
                SelectSelectorConfig(
                    options=kinds,
                    translation_key="source",
                    mode=SelectSelectorMode.LIST,
                )
            ),
        }
    )


SAMPLE_RATE_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=[str(rate) for rate in SAMPLE_RATES],
        mode=SelectSelectorMode.DROPDOWN,
    )
)
CHANNELS_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=1, max=MAX_CHANNELS, step=1, mode=NumberSelectorMode.BOX)
)


def _list_sound_devices() -> list[dict[str, Any]]:
    """PortAudio's devices, re-scanned (blocking: run it in the executor)."""
    # Imported here: sounddevice raises OSError at import when PortAudio is missing.
    from .uspd.audio.soundcard import list_devices

    return list_devices(refresh=True)


def _device_options(devices: list[dict[str, Any]], direction: str) -> list[SelectOptionDict]:
    """Devices that can record (or play) as select options.

    The value is the device name, which survives re-plugging and reboots better than
    PortAudio's index; a name that appears twice (one card under two host APIs) is
    offered by index, since a name must match exactly one device.
    """
    channels_key = f"max_{direction}_channels"
    usable = [dev for dev in devices if dev[channels_key] > 0]
    names = Counter(str(dev["name"]) for dev in usable)
    return [
        SelectOptionDict(
            value=str(dev["name"]) if names[str(dev["name"])] == 1 else str(dev["index"]),
            label=(
                f"{dev['name']} ({dev['hostapi']}, {dev[channels_key]} ch, "
                f"{dev['default_samplerate'] / 1000:g} kHz)"
            ),
        )
        for dev in usable
    ]


def _device_selector(options: list[SelectOptionDict]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=options, custom_value=True, mode=SelectSelectorMode.DROPDOWN)
    )


def _default_device(options: list[SelectOptionDict]) -> str | None:
    """The system's `default` device when PortAudio lists one, else the first device."""
    values = [option["value"] for option in options]
    if DEFAULT_DEVICE in values:
        return DEFAULT_DEVICE
    return values[0] if values else None


def _soundcard_schema(devices: list[dict[str, Any]]) -> probatio.Schema:
    fields: dict[Any, Any] = {}
    for key, direction in ((CONF_INPUT_DEVICE, "input"), (CONF_OUTPUT_DEVICE, "output")):
        options = _device_options(devices, direction)
        default = _default_device(options)
        marker = (
            probatio.Required(key) if default is None else probatio.Required(key, default=default)
        )
        fields[marker] = _device_selector(options)
    fields[probatio.Required(CONF_SAMPLE_RATE, default=str(DEFAULT_SAMPLE_RATE))] = (
        SAMPLE_RATE_SELECTOR
    )
    fields[probatio.Optional(CONF_CHANNELS)] = CHANNELS_SELECTOR
    return probatio.Schema(fields)


PORT_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
)
KEY_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))

NODE_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): TextSelector(),
        probatio.Required(CONF_PORT, default=DEFAULT_NODE_PORT): PORT_SELECTOR,
        probatio.Required(CONF_KEY): KEY_SELECTOR,
    }
)

KEY_SCHEMA = probatio.Schema({probatio.Required(CONF_KEY): KEY_SELECTOR})


def _seconds(minimum: float, maximum: float, step: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=step,
            unit_of_measurement="s",
            mode=NumberSelectorMode.BOX,
        )
    )


OPTIONS_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_SENSITIVITY): NumberSelector(
            NumberSelectorConfig(min=0, max=1, step=0.05, mode=NumberSelectorMode.SLIDER)
        ),
        probatio.Required(CONF_HOLD_TIME): _seconds(5, 3600, 1),
        probatio.Required(CONF_MINOR_WINDOW): _seconds(0, 1800, 1),
        probatio.Required(CONF_EMISSION_PAUSE): _seconds(0, 3600, 1),
        probatio.Required(CONF_MAX_LEVEL): NumberSelector(
            NumberSelectorConfig(
                min=-40,
                max=0,
                step=1,
                unit_of_measurement="dBFS",
                mode=NumberSelectorMode.SLIDER,
            )
        ),
        probatio.Required(CONF_BAND): SelectSelector(
            SelectSelectorConfig(
                options=list(BANDS),
                translation_key="band",
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        probatio.Optional(CONF_QUIET_ENTITIES): EntitySelector(
            EntitySelectorConfig(domain=list(QUIET_DOMAINS), multiple=True)
        ),
        probatio.Required(CONF_QUIET_TIME): _seconds(1, 60, 1),
    }
)


def _error_key(
    err: SourceError | CalibrationError, kind: str, fallback: str = "cannot_connect"
) -> str:
    """Translate an engine error code into a form error key."""
    code = getattr(err, "code", None)
    if code == ERROR_AUTH_FAILED:
        return "invalid_auth"
    if code == ERROR_DISCONNECTED:
        return "cannot_connect"
    if code == ERROR_DEVICE_NOT_FOUND and kind == SOURCE_NODE:
        # The node is unreachable (or its own sound card is missing).
        return "cannot_connect"
    if code not in KNOWN_ERRORS:
        return fallback
    return str(code)


def _key_errors(key: str) -> dict[str, str]:
    """Form errors for a node key that cannot be a key at all (no need to connect)."""
    try:
        decode_key(key)
    except ValueError:
        return {CONF_KEY: "invalid_key"}
    return {}


def _node_id_errors(key: str, announced: str) -> dict[str, str]:
    """Form errors for a (well-formed) key that is not the discovered node's."""
    if announced and node_id(key) != announced:
        return {CONF_KEY: "wrong_node_key"}
    return {}


def _entry_spec(entry: ConfigEntry) -> SourceSpec | None:
    """The entry's source (None for an ignored discovery, which has no data)."""
    try:
        return SourceSpec.from_dict(entry.data[CONF_SOURCE])
    except KeyError, ValueError:
        return None


def _address_updates(
    entry: ConfigEntry | None, discovery_info: ZeroconfServiceInfo, port: int
) -> dict[str, Any] | None:
    """Entry data that moves a configured node to the address it was discovered at.

    The entry keeps its host when that is still one of the node's announced addresses
    (a node on several networks announces them all) or a name rather than an address
    (it follows the node by itself); the port is always the announced one.
    """
    spec = None if entry is None else _entry_spec(entry)
    if spec is None or spec.kind != SOURCE_NODE:
        return None
    host = str(spec.params.get(CONF_HOST, ""))
    try:
        current = ip_address(host)
    except ValueError:
        current = None
    if current is not None and current not in discovery_info.ip_addresses:
        host = discovery_info.host
    moved = SourceSpec(kind=SOURCE_NODE, params={**spec.params, CONF_HOST: host, CONF_PORT: port})
    return {CONF_SOURCE: moved.to_dict()}


def _format_calibration(calibration: CalibrationResult) -> dict[str, str]:
    return {
        "carrier": f"{calibration.carrier_hz / 1000:.1f}",
        "level": f"{calibration.level_dbfs:.0f}",
        "snr": f"{calibration.snr_db:.1f}",
        "warnings": "\n".join(f"- {warning}" for warning in calibration.warnings) or "none",
    }


class UltrasonicPresenceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one ultrasonic sensor (a source + its calibration) per entry."""

    VERSION = 1
    # 1.2: a node's unique id comes from its key (uspd.node.keys.node_id), not its address.
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._spec: SourceSpec | None = None
        self._title = ""
        self._form_step = "user"
        self._errors: dict[str, str] = {}
        self._calibration: CalibrationResult | None = None
        self._calibration_task: asyncio.Task[CalibrationResult] | None = None
        self._discovered: dict[str, Any] = {}
        self._released_entry_id: str | None = None
        self._entry_updated = False

    @staticmethod
    @callback
    @override
    def async_get_options_flow(
        config_entry: UltrasonicPresenceConfigEntry,
    ) -> UltrasonicPresenceOptionsFlow:
        """Return the options flow."""
        return UltrasonicPresenceOptionsFlow()

    # -- choosing the source ----------------------------------------------------------

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the kind of source."""
        return await self._async_step_choose("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the device (or keep it) and calibrate again."""
        return await self._async_step_choose("reconfigure", user_input)

    async def _async_step_choose(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors = self._pop_errors()
        if user_input is not None:
            kind = user_input[CONF_SOURCE]
            if kind == SOURCE_SOUNDCARD:
                return await self.async_step_soundcard()
            if kind == SOURCE_NODE:
                return await self.async_step_node()
            spec = SourceSpec(kind=SOURCE_SIMULATED, params=dict(SIMULATED_PARAMS))
            if not (errors := await self._async_try_source(spec, step_id, "Simulated room")):
                return await self.async_step_calibrate()
        schema = _source_schema()
        if self.source == SOURCE_RECONFIGURE:
            current = self._current_spec()
            schema = self.add_suggested_values_to_schema(schema, {CONF_SOURCE: current.kind})
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)

    async def async_step_soundcard(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the sound card's input and output device and the sample rate."""
        errors = self._pop_errors()
        if user_input is not None:
            params: dict[str, Any] = {
                CONF_INPUT_DEVICE: str(user_input[CONF_INPUT_DEVICE]).strip(),
                CONF_OUTPUT_DEVICE: str(user_input[CONF_OUTPUT_DEVICE]).strip(),
                CONF_SAMPLE_RATE: int(user_input[CONF_SAMPLE_RATE]),
            }
            if user_input.get(CONF_CHANNELS) is not None:
                params[CONF_CHANNELS] = int(user_input[CONF_CHANNELS])
            spec = SourceSpec(kind=SOURCE_SOUNDCARD, params=params)
            title = f"Sound card {params[CONF_INPUT_DEVICE]}"
            if not (errors := await self._async_try_source(spec, "soundcard", title)):
                return await self.async_step_calibrate()
        try:
            devices = await self.hass.async_add_executor_job(_list_sound_devices)
        except (SourceError, OSError, ImportError) as err:
            LOGGER.debug("Cannot list sound devices: %s", err)
            devices = []
        if not devices and not errors:
            errors = {"base": "no_devices"}
        suggested = self._suggested(SOURCE_SOUNDCARD)
        if CONF_SAMPLE_RATE in suggested:
            suggested[CONF_SAMPLE_RATE] = str(suggested[CONF_SAMPLE_RATE])
        return self.async_show_form(
            step_id="soundcard",
            data_schema=self.add_suggested_values_to_schema(_soundcard_schema(devices), suggested),
            errors=errors,
        )

    async def async_step_node(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect to a sensor node by host, port and key."""
        errors = self._pop_errors()
        if user_input is not None:
            key = user_input[CONF_KEY].strip()
            spec = SourceSpec(
                kind=SOURCE_NODE,
                params={
                    CONF_HOST: user_input[CONF_HOST].strip(),
                    CONF_PORT: int(user_input[CONF_PORT]),
                    CONF_KEY: key,
                },
            )
            title = f"Sensor node {spec.params[CONF_HOST]}"
            if not (errors := _key_errors(key)) and not (
                errors := await self._async_try_source(spec, "node", title)
            ):
                return await self.async_step_calibrate()
        suggested = self._suggested(SOURCE_NODE)
        suggested.pop(CONF_KEY, None)
        return self.async_show_form(
            step_id="node",
            data_schema=self.add_suggested_values_to_schema(NODE_SCHEMA, suggested),
            errors=errors,
        )

    @override
    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A sensor node announced itself."""
        if SOURCE_NODE not in available_kinds():
            return self.async_abort(reason="not_supported")
        # The TXT record's name is the one the node was started with (`uspd node
        # --name`); the service instance name may carry a " (2)" from a conflict.
        name = str(discovery_info.properties.get("name") or "") or (
            discovery_info.name.removesuffix(f".{ZEROCONF_TYPE}")
        )
        host = discovery_info.host
        port = discovery_info.port or DEFAULT_NODE_PORT
        ident = str(discovery_info.properties.get("id") or "")
        if is_node_id(ident):
            # Known by its key-derived id: a configured node follows the node to its new
            # address (the entry reloads) and the discovery ends as already_configured.
            entry = await self.async_set_unique_id(node_unique_id(ident))
            self._abort_if_unique_id_configured(
                updates=_address_updates(entry, discovery_info, port)
            )
        else:
            # A node from before the id was announced: known by its address only.
            ident = ""
            probe = SourceSpec(kind=SOURCE_NODE, params={CONF_HOST: host, CONF_PORT: port})
            await self.async_set_unique_id(probe.unique_id())
            self._abort_if_unique_id_configured()
            if self._node_entry_at(host, port):
                return self.async_abort(reason="already_configured")
        self._discovered = {"name": name, "id": ident, CONF_HOST: host, CONF_PORT: port}
        self.context["title_placeholders"] = {"name": name}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the discovered node's key."""
        errors = self._pop_errors()
        info = self._discovered
        if user_input is not None:
            key = user_input[CONF_KEY].strip()
            spec = SourceSpec(
                kind=SOURCE_NODE,
                params={CONF_HOST: info[CONF_HOST], CONF_PORT: info[CONF_PORT], CONF_KEY: key},
            )
            title = f"Sensor node {info['name']}"
            if (
                not (errors := _key_errors(key))
                and not (errors := _node_id_errors(key, info["id"]))
                and not (errors := await self._async_try_source(spec, "zeroconf_confirm", title))
            ):
                return await self.async_step_calibrate()
        return self.async_show_form(
            step_id="zeroconf_confirm",
            data_schema=KEY_SCHEMA,
            errors=errors,
            description_placeholders={
                "name": info["name"],
                "host": f"{info[CONF_HOST]}:{info[CONF_PORT]}",
            },
        )

    # -- hardware check and calibration ------------------------------------------------

    async def _async_try_source(self, spec: SourceSpec, step_id: str, title: str) -> dict[str, str]:
        """Check the hardware; return form errors, or none and remember the source."""
        unique_id = spec.unique_id()
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if errors := self._unique_id_taken(unique_id, entry):
                return errors
            if spec.kind != SOURCE_SIMULATED:
                await self._async_release_device(entry)
        else:
            await self.async_set_unique_id(unique_id, raise_on_progress=False)
            self._abort_if_unique_id_configured()
        try:
            await self.hass.async_add_executor_job(check_hardware, spec)
        except SourceError as err:
            LOGGER.debug("Hardware check of %s failed: %s", spec.kind, err)
            return {"base": _error_key(err, spec.kind)}
        except Exception:
            LOGGER.exception("Unexpected error checking %s", spec.kind)
            return {"base": "unknown"}
        self._spec = spec
        self._title = title
        self._form_step = step_id
        return {}

    async def _async_calibrate(self, spec: SourceSpec, options: RunnerOptions) -> CalibrationResult:
        return await self.hass.async_add_executor_job(run_calibration, spec, options)

    async def async_step_calibrate(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Calibrate (sweep carriers and levels) while showing progress."""
        assert self._spec is not None
        if self._calibration_task is None:
            if self.source == SOURCE_RECONFIGURE:
                options = RunnerOptions.from_dict(dict(self._get_reconfigure_entry().options))
            else:
                options = RunnerOptions()
            self._calibration_task = self.hass.async_create_task(
                self._async_calibrate(self._spec, options)
            )
            # Always show progress first, even for a task that finished at once: the
            # flow manager would hand the form's input on to the next step otherwise.
            return self._show_calibration_progress(self._calibration_task)
        if not self._calibration_task.done():
            return self._show_calibration_progress(self._calibration_task)
        task, self._calibration_task = self._calibration_task, None
        try:
            self._calibration = task.result()
        except (SourceError, CalibrationError) as err:
            LOGGER.debug("Calibration failed: %s", err)
            self._errors = {"base": _error_key(err, self._spec.kind, "calibration_failed")}
            return self.async_show_progress_done(next_step_id=self._form_step)
        except Exception:
            LOGGER.exception("Unexpected error during calibration")
            self._errors = {"base": "unknown"}
            return self.async_show_progress_done(next_step_id=self._form_step)
        return self.async_show_progress_done(next_step_id="calibration_result")

    def _show_calibration_progress(self, task: asyncio.Task[CalibrationResult]) -> ConfigFlowResult:
        return self.async_show_progress(
            step_id="calibrate", progress_action="calibrate", progress_task=task
        )

    async def async_step_calibration_result(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the chosen carrier, level and SNR; create (or update) the entry."""
        assert self._spec is not None
        assert self._calibration is not None
        if user_input is not None:
            data = {
                CONF_SOURCE: self._spec.to_dict(),
                CONF_CALIBRATION: self._calibration.to_dict(),
            }
            if self.source == SOURCE_RECONFIGURE:
                self._entry_updated = True
                return self.async_update_reload_and_abort(
                    self._get_reconfigure_entry(),
                    unique_id=self._spec.unique_id(),
                    data=data,
                )
            return self.async_create_entry(
                title=self._title, data=data, options=RunnerOptions().to_dict()
            )
        return self.async_show_form(
            step_id="calibration_result",
            data_schema=probatio.Schema({}),
            description_placeholders=_format_calibration(self._calibration),
        )

    async def _async_release_device(self, entry: UltrasonicPresenceConfigEntry) -> None:
        """Stop the running sensor: it holds the sound card or node we want to probe."""
        if self._released_entry_id is None and entry.state is ConfigEntryState.LOADED:
            await self.hass.config_entries.async_unload(entry.entry_id)
            self._released_entry_id = entry.entry_id

    @callback
    @override
    def async_remove(self) -> None:
        """Start a sensor stopped for probing again when the flow ends without an update."""
        if self._released_entry_id is not None and not self._entry_updated:
            self.hass.config_entries.async_schedule_reload(self._released_entry_id)

    # -- reauthentication (sensor node key) -------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The node refused the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the node's new key and check it."""
        entry = self._get_reauth_entry()
        current = SourceSpec.from_dict(entry.data[CONF_SOURCE])
        errors: dict[str, str] = {}
        if user_input is not None:
            key = user_input[CONF_KEY].strip()
            spec = SourceSpec(kind=current.kind, params={**current.params, CONF_KEY: key})
            # A new key is a new node id: the entry takes it, unless another entry has it.
            unique_id = spec.unique_id()
            if not (errors := _key_errors(key)) and not (
                errors := self._unique_id_taken(unique_id, entry)
            ):
                try:
                    await self.hass.async_add_executor_job(check_hardware, spec)
                except SourceError as err:
                    errors["base"] = _error_key(err, spec.kind)
                except Exception:
                    LOGGER.exception("Unexpected error checking the node")
                    errors["base"] = "unknown"
                else:
                    return self.async_update_reload_and_abort(
                        entry, unique_id=unique_id, data_updates={CONF_SOURCE: spec.to_dict()}
                    )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=KEY_SCHEMA,
            errors=errors,
        )

    # -- helpers ----------------------------------------------------------------------

    def _unique_id_taken(self, unique_id: str, entry: ConfigEntry) -> dict[str, str]:
        """Form errors when another entry than `entry` has this unique id."""
        for other in self._async_current_entries(include_ignore=False):
            if other.entry_id != entry.entry_id and other.unique_id == unique_id:
                return {"base": "already_configured"}
        return {}

    def _node_entry_at(self, host: str, port: int) -> bool:
        """True when an entry's node is at this address (for nodes announcing no id)."""
        for entry in self._async_current_entries(include_ignore=False):
            spec = _entry_spec(entry)
            if (
                spec is not None
                and spec.kind == SOURCE_NODE
                and (spec.params.get(CONF_HOST), spec.params.get(CONF_PORT)) == (host, port)
            ):
                return True
        return False

    def _pop_errors(self) -> dict[str, str]:
        errors, self._errors = self._errors, {}
        return errors

    def _current_spec(self) -> SourceSpec:
        return SourceSpec.from_dict(self._get_reconfigure_entry().data[CONF_SOURCE])

    def _suggested(self, kind: str) -> dict[str, Any]:
        """Current parameters of the entry being reconfigured, if of this kind."""
        if self.source != SOURCE_RECONFIGURE:
            return {}
        current = self._current_spec()
        return dict(current.params) if current.kind == kind else {}


class UltrasonicPresenceOptionsFlow(OptionsFlowWithReload):
    """Tune the detector; the entry reloads with the new options."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Sensitivity, timings, emission level, band, and the switches whose turning
        on starts an interferer (a quiet time follows)."""
        if user_input is not None:
            values = {
                key: value if key == CONF_BAND else float(value)
                for key, value in user_input.items()
                if key not in (CONF_QUIET_ENTITIES, CONF_QUIET_TIME)
            }
            options = RunnerOptions.from_dict({**self.config_entry.options, **values})
            return self.async_create_entry(
                data={
                    **options.to_dict(),
                    # The adapter's own options: which switches start an interferer.
                    CONF_QUIET_ENTITIES: list(user_input.get(CONF_QUIET_ENTITIES, [])),
                    CONF_QUIET_TIME: float(user_input[CONF_QUIET_TIME]),
                }
            )
        current = {
            **RunnerOptions().to_dict(),
            CONF_QUIET_ENTITIES: [],
            CONF_QUIET_TIME: DEFAULT_QUIET_TIME,
            **self.config_entry.options,
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, current),
        )
