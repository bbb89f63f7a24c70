#!/usr/bin/env python3
"""CDK app entry point: one ``distsync-<stage>`` stack, checked by cdk-nag (AwsSolutions) at synth.

Environment-agnostic on purpose (no account/region lookups, no STS call), so synth works offline and the
template can be deployed into any account or into the local moto-based runtime.
"""

import aws_cdk as cdk

from infra.application import build

app = cdk.App()
build(app)
app.synth()
