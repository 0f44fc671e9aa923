def try_fixes(*a, **k):
    raise NotImplementedError


class FixResult:
    pass
