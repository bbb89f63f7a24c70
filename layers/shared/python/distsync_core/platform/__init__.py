"""The narrow platform every domain stands on: AWS clients and DynamoDB values, configuration, the consumer
pipeline (SQS batch loop, unit of work, idempotency, quarantine), the ledger, observability, webhook intake
and signatures, problem responses, and the workflows' waiting tasks.

Nothing here knows a business rule: a domain package (planning, inventory, orders, ...) imports the platform,
never the other way around.
"""
