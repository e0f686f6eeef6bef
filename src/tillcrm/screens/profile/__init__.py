"""The customer profile screen and its tabs (info, history, loyalty, stored value, wallet,
authorized users, suites)."""

from tillcrm.screens.profile.screen import ProfileScreen

__all__ = ["ProfileScreen"]
