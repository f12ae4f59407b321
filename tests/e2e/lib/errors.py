"""How a test ends other than passing: Fail (with diagnostic lines) or
Skip. Raised anywhere in a test or in the helpers it calls."""


class Fail(Exception):
    def __init__(self, reason, details=()):
        super().__init__(reason)
        self.reason = reason
        self.details = list(details)


class Skip(Exception):
    pass
