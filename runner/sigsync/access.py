"""Who may send webhooks: --allow-from (CIDRs, or `tradingview`) and --trusted-proxy.

The client address is the TCP peer, unless the peer is a --trusted-proxy: then it is the
right-most X-Forwarded-For entry that is not itself a trusted proxy (uvicorn's
ProxyHeadersMiddleware does that part). Without --trusted-proxy, X-Forwarded-For is ignored,
so nobody can pretend to be TradingView by sending the header.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable

import click

# The addresses TradingView sends webhooks from (DESIGN §14; IPv4 only).
TRADINGVIEW = ("52.89.214.238/32", "34.212.75.30/32", "54.218.53.128/32", "52.32.178.7/32")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_networks(values: Iterable[str], option: str, allow_tradingview: bool) -> list[Network]:
    networks: list[Network] = []
    for item in _split(values):
        if allow_tradingview and item.lower() == "tradingview":
            networks += [ipaddress.ip_network(n) for n in TRADINGVIEW]
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hint = " or `tradingview`" if allow_tradingview else ""
            raise click.BadParameter(f"{item!r} is not an IP address or CIDR{hint}", param_hint=option) from None
    return networks


class AllowList:
    """--allow-from: empty means everyone."""

    def __init__(self, networks: list[Network]):
        self.networks = networks

    def __bool__(self) -> bool:
        return bool(self.networks)

    def allows(self, host: str | None) -> bool:
        if not self.networks:
            return True
        if not host:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)

    def describe(self) -> str:
        return ", ".join(str(n) for n in self.networks) or "anyone"
