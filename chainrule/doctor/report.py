def write_report(*a):
    pass


def render_report(*a):
    pass


def load_run(*a):
    pass
