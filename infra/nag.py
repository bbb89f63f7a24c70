"""Acknowledging cdk-nag findings (cdk-nag 3 uses CDK's native ``Validations.acknowledge``).

A finding is acknowledged on the construct it is reported on (or an ancestor). Rules that report several
findings per resource (IAM4/IAM5) need the exact finding id, e.g. ``AwsSolutions-IAM5[Resource::*]``, so an
acknowledgement never silences more than the one wildcard it names.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    if len(reason) < 40:
        raise ValueError(f"{rule_id}: give a specific reason for the acknowledgement")
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
