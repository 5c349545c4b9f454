"""Tenants and staff: profile rules, phone numbers, banking checks, logos, one-time codes, staff login."""


class AccountError(Exception):
    """Base error of the accounts package."""
