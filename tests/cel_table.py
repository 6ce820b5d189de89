"""One passing and one violating value for every CEL rule of the CRD catalog (`x-kubernetes-validations`).

A case is (schema file, the rule's schema path, its message, a value that passes, a value that violates):
the value is `self` at the rule's level. `tests/test_cel.py` places it in an object of the kind, validates
the object, and checks that the rule's message appears exactly for the violating value; another test walks
the catalog and fails when a rule has no case here (a new schema or a new upstream rule).

Paths: `.spec.rules[].filters[]` is the `filters` item of a `rules` item (`[]` an item, `{}` a map value).
"""

from __future__ import annotations

from typing import Any, NamedTuple


class Case(NamedTuple):
    schema: str
    path: str
    message: str
    passing: Any
    violating: Any


CASES: list[Case] = []


def case(schema: str, path: str, message: str, passing: Any, violating: Any) -> None:
    CASES.append(Case(schema, path, message, passing, violating))


# External Secrets Operator v1 stores: the same five rules in SecretStore and ClusterSecretStore.
for store in ("external-secrets.io/secretstore_v1.json", "external-secrets.io/clustersecretstore_v1.json"):
    provider = ".spec.provider"
    token = {"name": "token", "key": "value"}
    case(
        store,
        f"{provider}.aws.customSessionTags",
        "customSessionTags cannot contain automatically injected reserved keys: esoNamespace, esoStoreName, "
        "esoStoreKind",
        {"team": "ai"},
        {"team": "ai", "esoStoreName": "mine"},
    )
    case(
        store,
        f"{provider}.doppler.auth",
        "Exactly one of 'secretRef' or 'oidcConfig' must be specified",
        {"secretRef": {"dopplerToken": token}},
        {"secretRef": {"dopplerToken": token}, "oidcConfig": {"identity": "x"}},
    )
    case(
        store,
        f"{provider}.nebiusmysterybox.auth",
        "either serviceAccountCredsSecretRef or tokenSecretRef must be set",
        {"tokenSecretRef": token},
        {},
    )
    case(
        store,
        f"{provider}.pulumi",
        "Exactly one of 'auth' or deprecated 'accessToken' must be specified",
        {"organization": "acme", "auth": {"accessToken": {"secretRef": token}}},
        {"organization": "acme"},
    )
    case(
        store,
        f"{provider}.pulumi.auth",
        "Exactly one of 'accessToken' or 'oidcConfig' must be specified",
        {"accessToken": {"secretRef": token}},
        {"accessToken": {"secretRef": token}, "oidcConfig": {"organization": "acme"}},
    )

# Gateway API Gateway v1.
GATEWAY = "gateway.networking.k8s.io/gateway_v1.json"
HOSTNAME_PATTERN = r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
KEY_FORMAT = (
    "{} keys must be in the form of an optional DNS subdomain prefix followed by a required name segment of "
    "up to 63 characters."
)
KEY_PREFIX = (
    "If specified, the {} key's prefix must be a DNS subdomain not longer than 253 characters in total."
)
for address_type, one, other in (
    ("IPAddress", "10.0.0.1", "10.0.0.2"),
    ("Hostname", "a.example.com", "b.example.com"),
):
    word = "IPAddress" if address_type == "IPAddress" else "Hostname"
    case(
        GATEWAY,
        ".spec.addresses",
        f"{word} values must be unique",
        [{"type": address_type, "value": one}, {"type": address_type, "value": other}],
        [{"type": address_type, "value": one}, {"type": address_type, "value": one}],
    )
case(
    GATEWAY,
    ".spec.addresses[]",
    f"Hostname value must be empty or contain only valid characters (matching {HOSTNAME_PATTERN})",
    {"type": "Hostname", "value": "gateway.example.com"},
    {"type": "Hostname", "value": "Gateway_1.example.com"},
)
case(
    GATEWAY,
    ".status.addresses[]",
    f"Hostname value must only contain valid characters (matching {HOSTNAME_PATTERN})",
    {"type": "Hostname", "value": "gateway.example.com"},
    {"type": "Hostname", "value": "gateway..example.com"},
)
for field, word in (("annotations", "Annotation"), ("labels", "Label")):
    case(
        GATEWAY,
        f".spec.infrastructure.{field}",
        KEY_FORMAT.format(word),
        {"example.com/team": "ai", "tier": "gpu"},
        {"example.com/-team": "ai"},
    )
    case(
        GATEWAY,
        f".spec.infrastructure.{field}",
        KEY_PREFIX.format(word.lower()),
        {"example.com/team": "ai"},
        {"a" * 250 + ".com/team": "ai"},
    )
HTTP = {"name": "http", "port": 80, "protocol": "HTTP"}
HTTPS = {"name": "https", "port": 443, "protocol": "HTTPS", "tls": {"certificateRefs": [{"name": "cert"}]}}
case(
    GATEWAY,
    ".spec.listeners",
    "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
    [HTTP, HTTPS],
    [{**HTTP, "tls": {"certificateRefs": [{"name": "cert"}]}}],
)
case(
    GATEWAY,
    ".spec.listeners",
    "tls mode must be Terminate for protocol HTTPS",
    [HTTPS],
    [{**HTTPS, "tls": {"mode": "Passthrough"}}],
)
case(
    GATEWAY,
    ".spec.listeners",
    "tls mode must be set for protocol TLS",
    [{"name": "tls", "port": 8443, "protocol": "TLS", "tls": {"mode": "Passthrough"}}],
    [{"name": "tls", "port": 8443, "protocol": "TLS"}],
)
case(
    GATEWAY,
    ".spec.listeners",
    "hostname must not be specified for protocols ['TCP', 'UDP']",
    [{"name": "tcp", "port": 5432, "protocol": "TCP"}, {**HTTP, "hostname": "a.example.com"}],
    [{"name": "tcp", "port": 5432, "protocol": "TCP", "hostname": "db.example.com"}],
)
case(
    GATEWAY,
    ".spec.listeners",
    "Listener name must be unique within the Gateway",
    [HTTP, HTTPS],
    [HTTP, {**HTTPS, "name": "http"}],
)
case(
    GATEWAY,
    ".spec.listeners",
    "Combination of port, protocol and hostname must be unique for each listener",
    [{**HTTP, "hostname": "a.example.com"}, {**HTTP, "name": "http-b", "hostname": "b.example.com"}],
    [HTTP, {**HTTP, "name": "http-b"}],
)
case(
    GATEWAY,
    ".spec.listeners[].tls",
    "certificateRefs or options must be specified when mode is Terminate",
    {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]},
    {"mode": "Terminate", "certificateRefs": [], "options": {}},
)
case(
    GATEWAY,
    ".spec.tls.frontend.perPort",
    "Port for TLS configuration must be unique within the Gateway",
    [{"port": 443, "tls": {}}, {"port": 8443, "tls": {}}],
    [{"port": 443, "tls": {}}, {"port": 443, "tls": {}}],
)

# Gateway API HTTPRoute v1 (experimental channel).
ROUTE = "gateway.networking.k8s.io/httproute_v1.json"
SERVICE = {"name": "chat", "port": 8000}
PARENT = {"name": "gateway", "namespace": "gateway"}
case(
    ROUTE,
    ".spec.parentRefs",
    "sectionName or port must be specified when parentRefs includes 2 or more references to the same parent",
    # The same Gateway name in two namespaces is two parents (`namespace` is `__namespace__` in CEL).
    [PARENT, {**PARENT, "namespace": "other"}],
    [PARENT, {**PARENT, "sectionName": "https"}],
)
case(
    ROUTE,
    ".spec.parentRefs",
    "sectionName or port must be unique when parentRefs includes 2 or more references to the same parent",
    [{**PARENT, "sectionName": "http"}, {**PARENT, "sectionName": "https"}],
    [{**PARENT, "sectionName": "https"}, {**PARENT, "sectionName": "https"}],
)


def prefix_matches(count: int) -> list[dict[str, Any]]:
    return [{"path": {"type": "PathPrefix", "value": f"/p{index}"}} for index in range(count)]


case(
    ROUTE,
    ".spec.rules",
    "While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a "
    "route must be less than 128",
    # A rule without matches counts one: its default match (PathPrefix /).
    [{"matches": prefix_matches(64)}, {"matches": prefix_matches(63)}, {}],
    [{"matches": prefix_matches(64)}, {"matches": prefix_matches(64)}, {}],
)
case(
    ROUTE,
    ".spec.rules",
    "Rule name must be unique within the route",
    [{"name": "api"}, {"name": "health"}, {}],
    [{"name": "api"}, {"name": "api"}],
)
REPLACE_PREFIX = {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}
ONE_PREFIX = [{"path": {"type": "PathPrefix", "value": "/v1"}}]
EXACT = [{"path": {"type": "Exact", "value": "/v1"}}]
case(
    ROUTE,
    ".spec.rules[]",
    "RequestRedirect filter must not be used together with backendRefs",
    {
        "backendRefs": [SERVICE],
        "filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "a.example.com"}}],
    },
    {
        "backendRefs": [SERVICE],
        "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https"}}],
    },
)
for filter_type, field in (("RequestRedirect", "requestRedirect"), ("URLRewrite", "urlRewrite")):
    replacing = {"type": filter_type, field: {"path": REPLACE_PREFIX}}
    case(
        ROUTE,
        ".spec.rules[]",
        f"When using {filter_type} filter with path.replacePrefixMatch, exactly one PathPrefix match must be "
        "specified",
        {"matches": ONE_PREFIX, "filters": [replacing]},
        {"matches": EXACT, "filters": [replacing]},
    )
    within = "When" if filter_type == "URLRewrite" else "when"
    case(
        ROUTE,
        ".spec.rules[]",
        f"Within backendRefs, {within} using {filter_type} filter with path.replacePrefixMatch, exactly one "
        "PathPrefix match must be specified",
        {"matches": ONE_PREFIX, "backendRefs": [{**SERVICE, "filters": [replacing]}]},
        {"matches": ONE_PREFIX * 2, "backendRefs": [{**SERVICE, "filters": [replacing]}]},
    )
case(
    ROUTE,
    ".spec.rules[].backendRefs[]",
    "Must have port for Service reference",
    {"kind": "Service", "name": "chat", "port": 8000},  # `group` defaults to "" (the core group)
    {"name": "chat"},
)

# The filters of a rule and of a backendRef carry the same rules.
FILTERS = {
    "CORS": ("cors", {"allowOrigins": ["https://app.example.com"]}),
    "RequestHeaderModifier": ("requestHeaderModifier", {"set": [{"name": "x-team", "value": "ai"}]}),
    "ResponseHeaderModifier": ("responseHeaderModifier", {"remove": ["server"]}),
    "RequestMirror": ("requestMirror", {"backendRef": {"name": "shadow", "port": 8000}}),
    "RequestRedirect": ("requestRedirect", {"scheme": "https"}),
    "URLRewrite": ("urlRewrite", {"hostname": "a.example.com"}),
    "ExtensionRef": ("extensionRef", {"group": "example.com", "kind": "Auth", "name": "auth"}),
    "ExternalAuth": (
        "externalAuth",
        {"protocol": "HTTP", "http": {}, "backendRef": {"name": "auth", "port": 80}},
    ),
}


def filter_of(filter_type: str) -> dict[str, Any]:
    field, value = FILTERS[filter_type]
    return {"type": filter_type, field: value}


for filters in (".spec.rules[].filters", ".spec.rules[].backendRefs[].filters"):
    case(
        ROUTE,
        filters,
        "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both",
        [filter_of("URLRewrite"), filter_of("RequestHeaderModifier")],
        [filter_of("RequestRedirect"), filter_of("URLRewrite")],
    )
    for filter_type in (
        "CORS",
        "RequestHeaderModifier",
        "ResponseHeaderModifier",
        "RequestRedirect",
        "URLRewrite",
    ):
        case(
            ROUTE,
            filters,
            f"{filter_type} filter cannot be repeated",
            [filter_of(filter_type), filter_of("RequestMirror"), filter_of("RequestMirror")],
            [filter_of(filter_type), filter_of(filter_type)],
        )
    for filter_type, (field, value) in FILTERS.items():
        other = "RequestMirror" if filter_type != "RequestMirror" else "CORS"
        case(
            ROUTE,
            f"{filters}[]",
            f"filter.{field} must be nil if the filter.type is not {filter_type}",
            filter_of(filter_type),
            {**filter_of(other), field: value},
        )
        case(
            ROUTE,
            f"{filters}[]",
            f"filter.{field} must be specified for {filter_type} filter.type",
            filter_of(filter_type),
            {"type": filter_type},
        )
    # (allowHeaders' message says "methods" upstream.)
    for field, noun, other in (
        ("allowHeaders", "methods", "x-team"),
        ("allowMethods", "methods", "GET"),
        ("allowOrigins", "origins", "https://app.example.com"),
    ):
        message = f"{field[0].upper()}{field[1:]} cannot contain '*' alongside other {noun}"
        case(ROUTE, f"{filters}[].cors.{field}", message, ["*"], ["*", other])
    auth = f"{filters}[].externalAuth"
    backend = {"name": "auth", "port": 9000}
    case(
        ROUTE,
        auth,
        "grpc must be specified when protocol is set to 'GRPC'",
        {"protocol": "GRPC", "grpc": {}, "backendRef": backend},
        {"protocol": "GRPC", "backendRef": backend},
    )
    case(
        ROUTE,
        auth,
        "protocol must be 'GRPC' when grpc is set",
        {"protocol": "GRPC", "grpc": {}, "backendRef": backend},
        {"protocol": "HTTP", "http": {}, "grpc": {}, "backendRef": backend},
    )
    case(
        ROUTE,
        auth,
        "http must be specified when protocol is set to 'HTTP'",
        {"protocol": "HTTP", "http": {}, "backendRef": backend},
        {"protocol": "HTTP", "backendRef": backend},
    )
    case(
        ROUTE,
        auth,
        "protocol must be 'HTTP' when http is set",
        {"protocol": "HTTP", "http": {}, "backendRef": backend},
        {"protocol": "GRPC", "grpc": {}, "http": {}, "backendRef": backend},
    )
    for owner in ("externalAuth", "requestMirror"):
        case(
            ROUTE,
            f"{filters}[].{owner}.backendRef",
            "Must have port for Service reference",
            {"name": "auth", "port": 9000},
            {"kind": "Service", "name": "auth"},
        )
    mirror = {"backendRef": {"name": "shadow", "port": 8000}}
    case(
        ROUTE,
        f"{filters}[].requestMirror",
        "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter",
        {**mirror, "percent": 10},
        {**mirror, "percent": 10, "fraction": {"numerator": 1, "denominator": 10}},
    )
    case(
        ROUTE,
        f"{filters}[].requestMirror.fraction",
        "numerator must be less than or equal to denominator",
        {"numerator": 30},
        {"numerator": 101},
    )  # the denominator defaults to 100
    for owner in ("requestRedirect", "urlRewrite"):
        path = f"{filters}[].{owner}.path"
        full = {"type": "ReplaceFullPath", "replaceFullPath": "/v2/chat"}
        case(
            ROUTE,
            path,
            "replaceFullPath must be specified when type is set to 'ReplaceFullPath'",
            full,
            {"type": "ReplaceFullPath"},
        )
        case(
            ROUTE,
            path,
            "type must be 'ReplaceFullPath' when replaceFullPath is set",
            full,
            {**REPLACE_PREFIX, "replaceFullPath": "/v2/chat"},
        )
        case(
            ROUTE,
            path,
            "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'",
            REPLACE_PREFIX,
            {"type": "ReplacePrefixMatch"},
        )
        case(
            ROUTE,
            path,
            "type must be 'ReplacePrefixMatch' when replacePrefixMatch is set",
            REPLACE_PREFIX,
            {**full, "replacePrefixMatch": "/v2"},
        )

MATCH_PATH = ".spec.rules[].matches[].path"
TYPES = "when type one of ['Exact', 'PathPrefix']"
for message, bad in (
    (f"value must be an absolute path and start with '/' {TYPES}", "v1/chat"),
    (f"must not contain '//' {TYPES}", "/v1//chat"),
    (f"must not contain '/./' {TYPES}", "/v1/./chat"),
    (f"must not contain '/../' {TYPES}", "/v1/../admin"),
    (f"must not contain '%2f' {TYPES}", "/v1%2fchat"),
    (f"must not contain '%2F' {TYPES}", "/v1%2Fchat"),
    (f"must not contain '#' {TYPES}", "/v1#chat"),
    (f"must not end with '/..' {TYPES}", "/v1/.."),
    (f"must not end with '/.' {TYPES}", "/v1/."),
    (
        "must only contain valid characters (matching "
        "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', 'PathPrefix']",
        "/v1/chat completions",
    ),
):
    case(
        ROUTE,
        MATCH_PATH,
        message,
        {"type": "PathPrefix", "value": "/v1/chat"},
        {"type": "Exact", "value": bad},
    )
case(
    ROUTE,
    MATCH_PATH,
    "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']",
    {"type": "RegularExpression", "value": "/v1/.*"},
    {"type": "Regex", "value": "/v1/.*"},
)
SESSION = ".spec.rules[].sessionPersistence"
case(
    ROUTE,
    SESSION,
    "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent",
    {"type": "Cookie", "cookieConfig": {"lifetimeType": "Permanent"}, "absoluteTimeout": "1h"},
    {"type": "Cookie", "cookieConfig": {"lifetimeType": "Permanent"}},
)
case(
    ROUTE,
    SESSION,
    "cookieConfig can only be set with type Cookie",
    {"type": "Cookie", "cookieConfig": {"lifetimeType": "Session"}},
    {"type": "Header", "sessionName": "x-session", "cookieConfig": {"lifetimeType": "Session"}},
)
case(
    ROUTE,
    ".spec.rules[].timeouts",
    "backendRequest timeout cannot be longer than request timeout",
    # "0s" is no request timeout at all: any backend timeout fits.
    {"request": "0s", "backendRequest": "1h30m"},
    {"request": "30s", "backendRequest": "1m500ms"},
)
