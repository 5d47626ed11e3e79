"""AWS fixes: one module per resource family, sharing the executor in ``common`` and clients in ``clients``."""
