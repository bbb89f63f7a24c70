"""`make run` names what moto does not emulate once, instead of a log line and a Python warning per resource."""

from __future__ import annotations

import logging
import warnings

from distsync.local.moto_backend import MotoServer, not_emulated


def test_the_types_moto_skips_are_named_once():
    template = {"Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Policy1": {"Type": "AWS::SQS::QueuePolicy"}, "Policy2": {"Type": "AWS::SQS::QueuePolicy"},
        "Schema": {"Type": "AWS::EventSchemas::Schema"},
    }}
    assert not_emulated(template) == ["AWS::EventSchemas::Schema", "AWS::SQS::QueuePolicy"]  # each type once


def test_moto_s_per_resource_messages_are_filtered(caplog):
    server = MotoServer()
    server.start()
    try:
        with caplog.at_level(logging.WARNING, logger="moto"):
            from moto.cloudformation.parsing import resource_class_from_type

            assert resource_class_from_type("AWS::Made::Up") is None
        assert not [r for r in caplog.records if "No Moto CloudFormation support" in r.getMessage()]
        assert any(f[0] == "ignore" and f[1] is not None and f[1].search(
            "Tried to parse AWS::Made::Up but it's not supported by moto's CloudFormation implementation")
            for f in warnings.filters)
    finally:
        server.stop()
