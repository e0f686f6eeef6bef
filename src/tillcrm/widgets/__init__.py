"""Reusable till widgets: money, the status bar, keyboard-wedge input, compact inputs."""
