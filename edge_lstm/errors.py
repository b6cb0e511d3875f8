"""The one exception type the command line turns into a one-line error."""


class EdgeLstmError(Exception):
    """A problem the user can fix: bad input, a missing file, an unsupported model.

    The command line prints ``error: <message>`` on one line and exits non-zero.
    """
