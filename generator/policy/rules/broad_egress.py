"""AIA303: egress to the whole internet (or a whole private network) on port 443 from an app.

AIA301 finds provider hosts by name; an app whose policy opens port 443 to every address reaches the same
providers by address. What counts as broad:
- Cilium `toEntities` world, world-ipv4, world-ipv6 or all (docs.cilium.io, "Layer 3 examples",
  Entities based), and an egress rule with ports but no peer (every destination: Cilium's "Layer 4
  Policies" apply to any layer-3 peer when none is given; a NetworkPolicy rule without `to` likewise);
- `toCIDR`/`toCIDRSet` or a NetworkPolicy `ipBlock` of /8 or wider (0.0.0.0/0 is every address, whatever
  its `except` leaves out);
- a private range (RFC 1918, `ipaddress.is_private`) of /16 or wider: the cloud providers' private
  endpoints (Azure Private Link, AWS PrivateLink, Google Private Service Connect) give an LLM API an
  address inside the VPC's private range, so a whole private network on 443 reaches them too; a narrower
  block (a /24, a single host) names a deliberate target and is not reported.
The documented exception is the app's AGENTS.md item "**HTTPS egress to any public address**" (written
by `aiapp new` when a NetworkPolicy, which has no FQDN rules, must reach public hosts); it covers public
addresses only. LiteLLM's own policies are not apps' (it holds the provider hosts).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from generator.cluster.facts import Cluster
from generator.policy.exceptions import documented_exceptions
from generator.policy.k8s import NETWORK_POLICY_KINDS, mapping, sequence
from generator.policy.model import Hit, K8sObject, Severity, YamlPath
from generator.policy.registry import object_rule
from generator.policy.rules import netpol
from generator.policy.selectors import policy_specs

HTTPS = 443
WORLD_ENTITIES = frozenset({"world", "world-ipv4", "world-ipv6", "all"})
PUBLIC_PREFIX = 8
PRIVATE_PREFIX = 16
_CILIUM_PEERS = (
    "toEndpoints",
    "toEntities",
    "toCIDR",
    "toCIDRSet",
    "toFQDNs",
    "toServices",
    "toGroups",
    "toNodes",
)


def _covers(port: Any, end: Any) -> bool:
    """Whether a port entry (with an optional endPort) includes 443; a named port is not judged."""
    try:
        first = int(str(port))
    except ValueError:
        return False
    if first == 0:  # Cilium: port 0 is every port
        return True
    last = int(end) if isinstance(end, int) else first
    return first <= HTTPS <= last


def _cilium_https(rule: dict[str, Any]) -> bool:
    if "toPorts" not in rule:
        return True
    return any(
        _covers(mapping(port).get("port"), mapping(port).get("endPort"))
        for entry in sequence(rule.get("toPorts"))
        for port in sequence(mapping(entry).get("ports"))
    )


def _netpol_https(rule: dict[str, Any]) -> bool:
    if not sequence(rule.get("ports")):
        return True
    return any(
        _covers(mapping(port).get("port"), mapping(port).get("endPort"))
        for port in sequence(rule.get("ports"))
    )


def broad_cidr(text: Any) -> str | None:
    """Why a CIDR is broad ("every address", "a whole private network"), or None."""
    try:
        network = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None
    if network.prefixlen == 0:
        return "every address"
    if network.is_private and network.prefixlen <= PRIVATE_PREFIX:
        return "a whole private network"
    if network.prefixlen <= PUBLIC_PREFIX:
        return "a /8 or wider"
    return None


def _cilium(obj: K8sObject) -> Iterator[tuple[YamlPath, str, bool]]:
    """(path, what, public) of every broad egress peer on 443 of a Cilium policy."""
    for base, spec in policy_specs(obj):
        for index, rule in enumerate(sequence(spec.get("egress"))):
            rule = mapping(rule)
            if not _cilium_https(rule):
                continue
            path: YamlPath = (*base, "egress", index)
            if not any(field in rule for field in _CILIUM_PEERS) and "toPorts" in rule:
                yield path, "an egress rule with ports but no peer (every destination)", True
            world = sorted(str(e) for e in sequence(rule.get("toEntities")) if str(e) in WORLD_ENTITIES)
            if world:
                yield (*path, "toEntities"), f"toEntities [{', '.join(world)}]", True
            for position, cidr in enumerate(sequence(rule.get("toCIDR"))):
                why = broad_cidr(cidr)
                if why:
                    yield (
                        (*path, "toCIDR", position),
                        f"toCIDR {cidr} ({why})",
                        why != "a whole private network",
                    )
            for position, entry in enumerate(sequence(rule.get("toCIDRSet"))):
                cidr = mapping(entry).get("cidr")
                why = broad_cidr(cidr)
                if why:
                    where = (*path, "toCIDRSet", position)
                    yield where, f"toCIDRSet {cidr} ({why})", why != "a whole private network"


def _netpol(obj: K8sObject) -> Iterator[tuple[YamlPath, str, bool]]:
    spec = mapping(obj.data.get("spec"))
    if "Egress" not in netpol.policy_types(spec):
        return
    for index, rule in enumerate(sequence(spec.get("egress"))):
        rule = mapping(rule)
        if not _netpol_https(rule):
            continue
        path: YamlPath = ("spec", "egress", index)
        if not sequence(rule.get("to")):
            yield path, "an egress rule without `to` (every destination)", True
        for position, peer in enumerate(sequence(rule.get("to"))):
            cidr = mapping(mapping(peer).get("ipBlock")).get("cidr")
            why = broad_cidr(cidr) if cidr is not None else None
            if why:
                where = (*path, "to", position, "ipBlock", "cidr")
                yield where, f"ipBlock {cidr} ({why})", why != "a whole private network"


@object_rule(
    id="AIA303",
    slug="broad-https-egress",
    title="Apps have no egress to the whole internet or a whole private network on port 443",
    severity=Severity.ERROR,
    family="providers",
    section="LiteLLM API Gateway Pattern > Application Usage; AI-DOMAIN ANTI-PATTERNS > Configuration",
    quote="Never connect applications directly to LLM providers - use LiteLLM",
    why="Egress to every address on port 443 (Cilium `toEntities: [world]` or `all`, `toCIDR`/`toCIDRSet` "
    "0.0.0.0/0 or any /8, a NetworkPolicy `ipBlock` alike, or a rule with ports and no peer) lets the app "
    "call {providers} directly by address, past LiteLLM, which AIA301 checks by host name only. A whole "
    "private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16: /16 or wider) is reported too: the "
    "providers' private endpoints (Azure Private Link, AWS PrivateLink, Private Service Connect) take "
    "addresses in it. Narrower blocks name a deliberate target and are not reported. Not reported: "
    "LiteLLM's own policies, and public addresses for an app whose AGENTS.md lists the exception "
    "`**HTTPS egress to any public address**` (as `aiapp new` writes it for a NetworkPolicy, which cannot "
    "name hosts). Cilium policies under `network.policy_engine: cilium`, NetworkPolicies under "
    "`kubernetes`.",
    fix="Send LLM traffic to LiteLLM ({litellm_url}) and allow only the hosts the app needs "
    "(`toFQDNs`); keep a broad rule only as a documented exception in the app's AGENTS.md, or suppress it "
    'with `aiapp/ignore: "AIA303: reason"`.',
    kinds=sorted(NETWORK_POLICY_KINDS | {netpol.KIND}),
)
def broad_https_egress(obj: K8sObject, cluster: Cluster) -> Iterator[Hit]:
    if obj.kind == netpol.KIND:
        if cluster.policy_engine != "kubernetes" or not obj.api_version.startswith(netpol.API_GROUP):
            return
        found = _netpol(obj)
    elif cluster.policy_engine == "cilium":
        found = _cilium(obj)
    else:
        return
    for path, what, public in found:
        if public and documented_exceptions(obj.directory).public_https:
            continue
        yield Hit(path, f"egress {what} on port 443 lets the app reach LLM providers directly, past LiteLLM")
