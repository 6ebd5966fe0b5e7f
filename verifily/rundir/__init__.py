"""Run directories: allocation and publishing, the hashed contract, the audit log."""
