"""The hospital gateway: physicians redeem grants and read verified records; auditor API."""
