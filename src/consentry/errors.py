"""One base exception; each subclass says what went wrong and what to do about it."""


class ConsentryError(Exception):
    """Base of every error the library raises for the CLI to show as one line. `code` is a stable,
    machine-readable name (the `error_code` of `--json` errors); a raise may give a finer one."""

    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code


class UsageError(ConsentryError):
    """Bad input on the command line: a name, date, fee or option that does not parse."""

    code = "usage"


class FileProblem(ConsentryError):
    """A missing, unreadable, non-image or corrupt file."""

    code = "bad_file"


class KeystoreError(ConsentryError):
    """Unknown account, wrong password, or an account that already exists."""

    code = "keystore"


class ChainError(ConsentryError):
    """No node, unreachable RPC, wrong chain id, no registry at the address, insufficient funds."""

    code = "chain"


class Reverted(ConsentryError):
    """The registry refused a transaction or call; the message names the contract's reason."""

    def __init__(self, message: str, error_name: str | None = None, args: dict | None = None):
        super().__init__(message, code=error_name or "reverted")
        self.error_name = error_name
        self.error_args = args or {}


class NotFound(ConsentryError):
    """An unknown twin, license or offer."""

    code = "not_found"


class IndexError_(ConsentryError):
    """The local index is missing, corrupt or from another registry."""

    code = "index"
