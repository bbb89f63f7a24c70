from infra.stacks.distsync_stack import DistsyncStack

__all__ = ["DistsyncStack"]
