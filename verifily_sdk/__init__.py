"""Python client for the Verifily jobs API."""

from verifily_sdk.client import VerifilyAPIError, VerifilyClient

__all__ = ["VerifilyClient", "VerifilyAPIError"]
