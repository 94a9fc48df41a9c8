"""Emergency preparedness registry and drill scheduler for a county emergency management bureau."""

__version__ = "0.1.0"
