"""The till's Textual screens: login, identify (home), the customer profile and its dialogs.

Screens call `TillService` only; they never touch SQLite, HTTP or serial ports.
"""
