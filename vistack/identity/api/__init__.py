"""Keystone v3 over HTTP: routing, validation and rendering only; rules live in `domain/`."""
