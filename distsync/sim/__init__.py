"""Simulated partner systems for local runs and tests: real HTTP servers on 127.0.0.1."""
