"""An entry point whose target imports fine but is a function, not a Policy subclass."""


def not_a_policy(evidence):
    """Looks like a policy to a careless author; is not one."""
    return "promote"
