"""The HTTP routes: Verifily's own (/v1), the IntelGraph ones, and GraphQL."""
