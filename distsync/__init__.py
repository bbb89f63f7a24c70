"""distsync tooling: the local runtime (the synthesized stack on moto), simulators and the ops CLI."""
