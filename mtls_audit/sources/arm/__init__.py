"""Offline input: ARM exports, deployment templates and Bicep, read into flat ARM resources."""
