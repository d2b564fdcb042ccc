"""Errors a user can act on. Every one derives from CadenzaError; the command line prints its
message on one line and exits 2."""


class CadenzaError(Exception):
    """Base of every error that is the user's to fix (a bad file, an impossible option)."""


class InputError(CadenzaError):
    """A file could not be read as music. The message names the file and the problem."""

    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{path}: {problem}")


class OptionError(CadenzaError):
    """An option value is impossible; the message says what is accepted."""


class OutputExistsError(CadenzaError):
    """An output file exists and --force was not given."""


class MusicError(CadenzaError, ValueError):
    """A musical fact is wrong (a note ends before it starts, an unknown key name...)."""


class TokenizeError(CadenzaError, ValueError):
    """A piece cannot be tokenized (unsupported meter, no notes, a pitch outside the range...)."""


def counted(n: int, what: str) -> str:
    """'1 track', '2 tracks': a count in a message."""
    return f"{n} {what}" if n == 1 else f"{n} {what}s"
