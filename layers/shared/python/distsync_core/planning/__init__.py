"""Planning: what the planning platform recommends and what distsync makes of it. Replenishment policy
(:mod:`.replenishment`: apply directly, ask a planner, quarantine), forecast cycles at planning scale
(:mod:`.cycles`, the policy; :mod:`.cycle_store`, their DynamoDB and S3 side) and the planner's approvals
(:mod:`.approvals`)."""
