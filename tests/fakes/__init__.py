"""Fake issue trackers: real HTTP servers on 127.0.0.1 that follow each tracker's documented API."""
