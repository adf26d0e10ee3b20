"""A concept bank that falls back on a concept network: trained vectors where the bank has them, any other word swap
through the network (``{"yellow->purple": 1.0}`` works although no vector was trained for it)."""
from __future__ import annotations

from typing import Sequence

#: where a concept's vector comes from
FROM_BANK, FROM_NETWORK = "bank", "network"


class ConceptsWithNetwork:
    """``bank`` (optional) and ``network`` behind the interface :func:`l2vkit.steer` takes as ``concepts``.

    A name the bank holds (or whose reverse it holds: ``"blue->red"`` is φ < 0 on ``"red->blue"``) is the bank's
    trained vector; any other pair of two words the network knows in one slot comes from the network, computed for the
    caption being steered (:meth:`caption_vectors`). ``origin(name)`` says which.

    Examples
    --------
    ::

        concepts = ConceptsWithNetwork(bank, network, generator)
        l2vkit.steer(generator, caption, {"yellow->purple": 1.0}, concepts=concepts)
    """

    def __init__(self, bank, network, generator):
        if network is None:
            raise ValueError("no concept network given; use the bank itself as concepts")
        network.check_generator(generator)
        self.bank, self.network, self.generator = bank, network, generator

    # ------------------------------------------------------------------------------------------ names
    @property
    def pairs(self) -> list[str]:
        """The bank's trained pairs (the network gives any other pair of its words)."""
        return [] if self.bank is None else self.bank.pairs

    @property
    def meta(self) -> dict:
        own = {} if self.bank is None else dict(self.bank.meta)
        return {**own, "network": self.network.meta.get("created")}

    def origin(self, name: str) -> str:
        """``"bank"`` when the bank holds ``name`` or its reverse, else ``"network"`` (``KeyError`` when neither
        can give it)."""
        if self._in_bank(name):
            return FROM_BANK
        self.network.pair(name)  # KeyError naming the problem
        return FROM_NETWORK

    def _in_bank(self, name: str) -> bool:
        return self._reverse_of(name) is not None or (self.bank is not None and name in self.bank)

    def _reverse_of(self, name: str) -> str | None:
        """The bank's pair whose reverse name ``name`` is (``"red->blue"`` for ``"blue->red"``), else ``None``."""
        if self.bank is None or name in self.bank:
            return None
        return next((p for p in self.bank.pairs
                     if name == f"{self.bank.spec(p).target}->{self.bank.spec(p).source}"), None)

    def _not_a_reverse(self, name: str) -> None:
        pair = self._reverse_of(name)
        if pair is not None:
            raise KeyError(f"{name!r} is the reverse of the bank's {pair!r}: steer {pair!r} with φ < 0 (l2vkit.steer "
                           "does this for you)")

    def __contains__(self, name) -> bool:
        if not isinstance(name, str):
            return False
        if self.bank is not None and name in self.bank:
            return True
        return not self._in_bank(name) and self.network.knows(name)  # a bank pair's reverse stays the bank's

    def __getitem__(self, name: str):
        if self.bank is not None and name in self.bank:
            return self.bank[name]
        self._not_a_reverse(name)
        self.network.pair(name)  # KeyError naming the problem
        raise KeyError(f"{name!r} comes from the concept network, computed per caption: pass the captions to "
                       "l2vkit.steering.steered_condition (captions=...), or use caption_vectors")

    def spec(self, name: str):
        if self.bank is not None and name in self.bank:
            return self.bank.spec(name)
        self._not_a_reverse(name)
        return self.network.pair(name)

    def strength_range(self, name: str):
        """The bank's measured range; ``None`` for a network pair (none is measured)."""
        return self.bank.strength_range(name) if self.bank is not None and name in self.bank else None

    def references(self, name: str):
        return self.bank.references(name) if self.bank is not None and name in self.bank else None

    def caption_vectors(self, name: str, captions: Sequence[str]):
        """q (B, L, E) for ``captions`` from the network when ``name`` is a network pair; ``None`` for a bank pair
        (``KeyError`` for a bank pair's reverse name: steer the pair with φ < 0)."""
        if self.bank is not None and name in self.bank:
            return None
        self._not_a_reverse(name)
        return self.network.vectors(self.generator, captions, self.network.pair(name))

    def check_generator(self, generator) -> None:
        if self.bank is not None:
            self.bank.check_generator(generator)
        self.network.check_generator(generator)
