"""Observability addons: one component per addon, plus the stack that wires them."""
