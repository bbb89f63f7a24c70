"""Reusable constructs of the distsync stack."""
