"""Click parameter types for the registry's vocabulary: a bad channel, territory, transformation, duration
or amount is a usage error (exit 2) naming the option, before any password is asked or chain reached.

Each type returns the normalised value the library takes: names as lists, durations in seconds, amounts
as the checked text (its currency is resolved against the chain later)."""

from __future__ import annotations

import click

from . import vocab
from .errors import UsageError


class _Checked(click.ParamType):
    """Runs a vocab parser; its UsageError becomes click's, so the option is named in the one-line error."""

    def parse(self, value: str):
        raise NotImplementedError

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value  # already converted (a default given as a value)
        try:
            return self.parse(value)
        except UsageError as e:
            self.fail(str(e), param, ctx)


class ChannelList(_Checked):
    name = "channels"

    def parse(self, value):
        names = [n.lower() for n in vocab.split_list(value)]
        vocab.channel_mask(names)
        return names


class TransformList(_Checked):
    name = "transforms"

    def parse(self, value):
        names = [n.lower() for n in vocab.split_list(value)]
        vocab.transform_mask(names)
        return names


class TerritoryList(_Checked):
    name = "territories"

    def parse(self, value):
        names = [n.upper() for n in vocab.split_list(value)]
        vocab.pack_territories(names)  # codes known, at most five
        return names


class Channel(_Checked):
    name = "channel"

    def parse(self, value):
        vocab.channel_index(value)
        return value.strip().lower()


class Territory(_Checked):
    name = "territory"

    def parse(self, value):
        vocab.territory_code(value)
        return value.strip().upper()


class Transform(_Checked):
    name = "transform"

    def parse(self, value):
        vocab.transform_mask([value])
        return value.strip().lower()


class Id(click.ParamType):
    """A twin or license id: 1 .. 2^32-1 (the registry counts them in uint32)."""

    name = "id"

    def convert(self, value, param, ctx):
        try:
            n = int(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not an id (a whole number)", param, ctx)
        if not 1 <= n < 2**32:
            self.fail(f"{value} is not an id: ids run from 1 to 4294967295", param, ctx)
        return n


class Duration(_Checked):
    """90d, 12w, 1y, 6h -> seconds."""

    name = "duration"

    def parse(self, value):
        return vocab.parse_duration(value)


class Amount(_Checked):
    """0.01ether, 10gwei, 2.5USDC or a whole number: checked here, resolved against the chain's tokens later."""

    name = "amount"

    def parse(self, value):
        vocab.split_amount(value)
        return value.strip()


CHANNELS = ChannelList()
TRANSFORMS = TransformList()
TERRITORIES = TerritoryList()
CHANNEL = Channel()
TERRITORY = Territory()
TRANSFORM = Transform()
DURATION = Duration()
ID = Id()
AMOUNT = Amount()
