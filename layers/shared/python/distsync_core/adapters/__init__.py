"""AWS adapters not yet moved into their domain package (this package is being taken apart)."""
