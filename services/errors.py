"""What a service refuses, and why. Handlers turn each into a short localized answer."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. Nothing was changed."""


class NotFound(DomainError):
    """The thing does not exist, is hidden, or belongs to someone else."""


class InvalidQuantity(DomainError):
    def __init__(self, maximum: int):
        super().__init__(f"quantity must be 1..{maximum}")
        self.maximum = maximum


class OtherUnit(InvalidQuantity):
    """A quantity said in another unit than the product's ("2斤" of a product sold by the bag)."""

    def __init__(self, maximum: int, unit: str):
        super().__init__(maximum)
        self.unit = unit


class CartFull(DomainError):
    """A new product would make the cart longer than its cap."""

    def __init__(self, max_lines: int):
        super().__init__(f"at most {max_lines} lines in a cart")
        self.max_lines = max_lines


class NotEnoughStock(DomainError):
    def __init__(self, product_name: dict, available: int):
        super().__init__(f"only {available} left")
        self.product_names = product_name
        self.available = available


class CartEmpty(DomainError):
    pass


class NoCenterChosen(DomainError):
    pass


class StaleCheckout(DomainError):
    """The confirmation was shown for a cart that has changed since."""


class NotAllowed(DomainError):
    """The thing (an order, a listing, a promotion) is not in a state that allows this."""

    def __init__(self, status: str):
        super().__init__(f"not allowed in status {status}")
        self.status = status


class NotYours(DomainError):
    """Not for this person to see, here: someone else's, or nothing at all. The two get the same
    answer, so a forged button learns nothing, not even whether the thing exists."""


class TooManyPendingOrders(DomainError):
    """The villager has as many orders waiting for a decision as the cap allows."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} pending orders")
        self.limit = limit


class NotAdmin(DomainError):
    """Only an admin may do this."""


class AlreadyDone(DomainError):
    """The order or listing is already where this action would move it: nothing changed."""

    def __init__(self, status: str):
        super().__init__(f"already {status}")
        self.status = status
