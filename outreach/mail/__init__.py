"""Messages: one MIME factory for campaign and transactional mail, headers, signed tokens."""
