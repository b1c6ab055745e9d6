"""vistack: the OpenStack APIs served on top of a VMware vSphere estate."""

__version__ = "0.1.0"
