"""Tests for ultrasonic-presence (engine and Home Assistant integration)."""
