"""The local runtime: the stack `cdk synth` produced, deployed into moto and run with the real handlers.

Nothing here names a queue, rule, function or table of distsync: everything is read from the synthesized
cloud assembly (template + asset manifest), so a resource added in CDK shows up locally by itself.
"""
