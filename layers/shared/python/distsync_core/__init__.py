"""distsync_core: the code every distsync Lambda shares (shipped as the shared layer).

Plain Python domain logic (contracts, signing, replenishment policy, trace status) with no AWS
imports; AWS access lives in :mod:`distsync_core.platform` and is created lazily.
"""
