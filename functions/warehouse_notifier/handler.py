"""placeholder, replaced by the real handler."""
