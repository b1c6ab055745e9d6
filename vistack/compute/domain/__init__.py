"""Nova's rules and state machines, over the compute driver."""
