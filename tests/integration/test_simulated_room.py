"""End to end on the real engine: simulated rooms through the coordinator and entities.

The runner is stepped synchronously (`realtime=False`, `run_for`) in small slices of
simulated time, so the tests are deterministic and take no wall-clock waiting.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import EVENT_STATE_CHANGED, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ultrasonic_presence.const import CONF_CALIBRATION, CONF_SOURCE, DOMAIN
from custom_components.ultrasonic_presence.uspd import runner as runner_module
from custom_components.ultrasonic_presence.uspd.audio.factory import SourceSpec
from custom_components.ultrasonic_presence.uspd.audio.source import SourceError
from custom_components.ultrasonic_presence.uspd.pipeline import WARMUP_S
from custom_components.ultrasonic_presence.uspd.runner import (
    PresenceRunner,
    RunnerOptions,
    run_calibration,
)

from .conftest import SteppedRunner, complete_calibration


def _engine_ready() -> bool:
    """Whether the engine can build a pipeline (it is being written in parallel)."""
    try:
        from custom_components.ultrasonic_presence.uspd.pipeline import default_scorer

        default_scorer()
    except ImportError:
        return False
    return True


pytestmark = pytest.mark.skipif(
    not _engine_ready(), reason="engine pipeline incomplete: no scorer importable yet"
)

STEP_S = 0.1
OCCUPANCY = "binary_sensor.{}_occupancy"


async def _setup_scenario(
    hass: HomeAssistant, scenario: str, options: RunnerOptions
) -> tuple[MockConfigEntry, SteppedRunner]:
    spec = SourceSpec(
        kind="simulated",
        params={"scenario": scenario, "seed": 3, "sample_rate": 96000, "mics": 4},
    )
    calibration = await hass.async_add_executor_job(run_calibration, spec, options)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=scenario,
        unique_id=spec.unique_id(),
        data={CONF_SOURCE: spec.to_dict(), CONF_CALIBRATION: calibration.to_dict()},
        options=options.to_dict(),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry, SteppedRunner.instances[-1]


async def _run(
    hass: HomeAssistant, runner: SteppedRunner, entity_id: str, seconds: float
) -> list[tuple[float, str]]:
    """Advance the stream; return (stream time, entity state) at every state change.

    Stops early when a (non-looping) scenario has finished.
    """
    changes: list[tuple[float, str]] = []
    last = None
    t = 0.0
    while t < seconds - 1e-9:
        try:
            states = await hass.async_add_executor_job(runner.run_for, STEP_S)
        except SourceError as err:
            assert "finished" in str(err), err
            break
        await hass.async_block_till_done()
        t = states[-1].t if states else t + STEP_S
        state = hass.states.get(entity_id)
        assert state is not None
        if state.state != last:
            changes.append((round(t, 2), state.state))
            last = state.state
    assert t >= seconds * 0.6, f"scenario ended at {t:.1f} s"
    return changes


async def test_walk_in_detected_within_a_second_and_clears_after_hold(
    hass: HomeAssistant, stepped_runner: Any
) -> None:
    """walk_past: a person enters at 1.0 s and leaves; occupancy follows with the hold.

    The stream has just started, so presence can only be declared once the pipeline's
    warm-up is over (carrier heard from ≈0.25 s, then WARMUP_S): within a second of that.
    """
    options = RunnerOptions(hold_time_s=3.0, minor_window_s=3.0)
    entry, runner = await _setup_scenario(hass, "walk_past", options)
    changes = await _run(hass, runner, OCCUPANCY.format("walk_past"), 14.5)

    on_times = [t for t, state in changes if state == STATE_ON]
    assert on_times, changes
    assert on_times[0] <= max(1.0, 0.25 + WARMUP_S) + 1.0 + STEP_S, changes
    off_after = [t for t, state in changes if state == STATE_OFF and t > on_times[0]]
    assert off_after, changes
    # Not before the hold time has passed since detection started.
    assert off_after[0] >= on_times[0] + options.hold_time_s, changes
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_fan_alone_never_occupied(hass: HomeAssistant, stepped_runner: Any) -> None:
    """An oscillating floor fan in an empty room never turns occupancy on."""
    entry, runner = await _setup_scenario(hass, "floor_fan", RunnerOptions())
    changes = await _run(hass, runner, OCCUPANCY.format("floor_fan"), 14.5)
    runtime = runner.runtime
    assert await hass.config_entries.async_unload(entry.entry_id)
    false_alarm = any(state == STATE_ON for _, state in changes)
    if false_alarm and runtime == "conventional":
        # Only the trained classifier tells a fan from a person; without the shipped
        # model the engine falls back to the Doppler-energy detector, which cannot.
        pytest.xfail(f"conventional fallback detector fires on a fan: {changes}")
    assert not false_alarm, changes


@pytest.mark.parametrize("scenario", ["empty", "seated_typing"])
async def test_occupancy_entity_is_written_only_when_occupancy_changes(
    hass: HomeAssistant, stepped_runner: Any, scenario: str
) -> None:
    """The occupancy entity (state and attributes) changes only with occupancy: not at
    every frame whose most likely class or reason differs (that was a new state, and a
    recorder row, several times a second in an empty room and every second while
    someone sat there). The motion class has its own (diagnostic) sensor."""
    entity_id = OCCUPANCY.format(scenario)
    writes: list[tuple[str, dict[str, Any]]] = []

    def record(event: Any) -> None:
        new_state = event.data["new_state"]
        if event.data["entity_id"] == entity_id and new_state is not None:
            writes.append((new_state.state, dict(new_state.attributes)))

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    entry, runner = await _setup_scenario(hass, scenario, RunnerOptions())
    changes = await _run(hass, runner, entity_id, 14.5)
    unsub()
    assert await hass.config_entries.async_unload(entry.entry_id)
    if scenario == "seated_typing":
        assert STATE_ON in [state for _, state in changes], changes
    assert all("motion_class" not in attributes for _, attributes in writes)
    pairs = list(itertools.pairwise(writes))
    # While occupied the entity is never rewritten; while empty only for a new status
    # (start-up: no carrier yet, warming up, then no motion).
    assert not [w for (prev, _), w in pairs if prev == STATE_ON and w[0] == STATE_ON], writes
    rewrites_off = [w[1]["reason"] for (prev, _), w in pairs if prev == STATE_OFF == w[0]]
    assert len(rewrites_off) <= 3, writes


async def test_config_flow_on_the_real_engine(hass: HomeAssistant, stepped_runner: Any) -> None:
    """The demo room: real hardware check and calibration, then a working entry."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"source": "simulated"}
    )
    result = await complete_calibration(hass, result)

    entry = result["result"]
    runner = stepped_runner.instances[-1]
    await hass.async_add_executor_job(runner.run_for, 1.0)
    await hass.async_block_till_done()
    assert hass.states.get("binary_sensor.simulated_room_occupancy").state == STATE_OFF
    assert runner_module.PresenceRunner is PresenceRunner
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_source_failure_and_recovery_on_the_real_runner(
    hass: HomeAssistant, stepped_runner: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A source that stops delivering makes the entities unavailable; reopening recovers."""
    entry, runner = await _setup_scenario(hass, "empty", RunnerOptions())
    entity_id = OCCUPANCY.format("empty")
    await hass.async_add_executor_job(runner.run_for, 1.0)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_OFF

    # The 10 s scenario ends: the runner reports the failure like an unplugged card.
    with pytest.raises(SourceError, match="finished"):
        await hass.async_add_executor_job(runner.run_for, 12.0)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE
    assert "empty is unavailable: scenario 'empty' finished" in caplog.text

    # The runner reopens the source on its next step (its worker retries with backoff).
    await hass.async_add_executor_job(runner.run_for, 1.0)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == STATE_OFF
    assert "empty is available again" in caplog.text
    assert await hass.config_entries.async_unload(entry.entry_id)
