"""Typed Pulumi components for an Istio mesh, its addons and its microservices."""
