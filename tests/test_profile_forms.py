"""The profile's mechanism keys and its two forms of a fact (docs/cluster.md).

A Gateway, a storage class and a secret store can be given as the scalar key of old or as a list
(`gateway.gateways`, `storage_classes`, `secret_stores`) whose first item is the default. Both forms of
one fact are the same facts, the same recorded answer and so the same render; giving both is refused,
by aiapp and by plain Copier's validator alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from generator.cluster.facts import cluster
from generator.cluster.profile import Profile, merge, validate, written
from generator.errors import ProfileError
from generator.template.questions import check, load_questions, resolve

STORE = {"kind": "ClusterSecretStore", "name": "bitwarden-fields", "api_version": "external-secrets.io/v1"}
LOGINS = {"kind": "ClusterSecretStore", "name": "bitwarden-login", "api_version": "external-secrets.io/v1"}

# (scalar form, list-of-one form) of each fact that has both.
SAME_FACTS = [
    ({"storage_class": "ceph-block"}, {"storage_classes": ["ceph-block"]}),
    ({"secret_store": STORE}, {"secret_stores": [STORE]}),
    (
        {"gateway": {"namespace": "network", "name": "internal", "section": "https"}},
        {"gateway": {"gateways": [{"namespace": "network", "name": "internal", "section": "https"}]}},
    ),
]


@pytest.mark.parametrize(("scalar", "listed"), SAME_FACTS)
def test_a_list_of_one_is_its_scalar_key(scalar: dict[str, Any], listed: dict[str, Any]) -> None:
    validate(scalar, "scalar")
    validate(listed, "list")
    assert merge(scalar) == merge(listed)
    # The recorded answer is the same text: an update from one form to the other changes nothing.
    assert Profile(merge(scalar)).answer() == Profile(merge(listed)).answer()
    assert cluster(Profile(merge(scalar))) == cluster(Profile(merge(listed)))


def test_the_first_item_of_a_list_is_the_default_and_every_item_is_known() -> None:
    given = {
        "storage_classes": ["ceph-block", "ceph-filesystem"],
        "secret_stores": [STORE, {"name": "bitwarden-login"}],
        "gateway": {"gateways": [{"namespace": "network", "name": "internal", "section": "https"},
                                 {"namespace": "network", "name": "external"}]},
    }
    validate(given, "test")
    facts = merge(given)
    assert facts["storage_class"] == "ceph-block"
    assert facts["secret_store"] == STORE
    # A store given by name takes the default kind and API version.
    assert facts["secret_stores"][1] == LOGINS
    assert (facts["gateway"]["namespace"], facts["gateway"]["name"]) == ("network", "internal")
    assert facts["gateway"]["gateways"][1]["section"] is None  # every listener
    facts_of = cluster(Profile(facts))
    assert facts_of.storage_classes == ("ceph-block", "ceph-filesystem")
    assert facts_of.gateways == (("network", "internal", "https"), ("network", "external", None))
    assert [name for _, name, _ in facts_of.secret_stores] == ["bitwarden-fields", "bitwarden-login"]
    # Written back as a profile: lists kept whole, their scalar keys left out; the same facts again.
    form = written(facts)
    assert "storage_class" not in form and "secret_store" not in form
    assert not {"namespace", "name", "section"} & set(form["gateway"])
    validate(form, "written")
    assert merge(form) == facts


BOTH = [
    ({"storage_class": "a", "storage_classes": ["a"]}, "give storage_classes or storage_class, not both"),
    ({"secret_store": STORE, "secret_stores": [STORE]}, "give secret_stores or secret_store, not both"),
    (
        {"gateway": {"name": "internal", "gateways": [{"namespace": "network", "name": "internal"}]}},
        "give gateways or namespace/name/section, not both",
    ),
]


@pytest.mark.parametrize(("given", "message"), BOTH)
def test_both_forms_of_a_fact_are_refused_by_aiapp_and_by_copier(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        validate(given, ".aiapp.yml")
    # Plain Copier: copier.yml's own validator of the `cluster` answer.
    question = next(question for question in load_questions() if question.name == "cluster")
    context = resolve({"cluster": given})
    refusal = check(question, given, context)
    assert refusal is not None and "not both" in refusal


def test_the_mechanism_keys_have_defaults_and_reach_the_facts() -> None:
    defaults = cluster()
    assert (defaults.backup_mechanism, defaults.policy_engine, defaults.ingress_kind) == (
        "tier-label", "cilium", "gateway-api",
    )
    assert defaults.backup_tiers == ("GFS", "Daily") and defaults.critical_tier == "GFS"
    given = {
        "backup": {"mechanism": "schedules", "velero_namespace": "backup"},
        "network": {"policy_engine": "kubernetes"},
        "ingress": {"kind": "ingress", "class": "traefik",
                    "annotations": {"traefik.ingress.kubernetes.io/router.entrypoints": "websecure"}},
        "gpu": {"tolerations": []},
    }
    validate(given, "test")
    facts = cluster(Profile(merge(given)))
    assert facts.backup_mechanism == "schedules" and facts.velero_namespace == "backup"
    assert facts.backup_tiers == ("GFS", "Daily"), "a section given in part keeps its other defaults"
    assert facts.policy_engine == "kubernetes"
    assert (facts.ingress_kind, facts.ingress_class) == ("ingress", "traefik")
    assert facts.ingress_annotations == (("traefik.ingress.kubernetes.io/router.entrypoints", "websecure"),)
    assert facts.gpu_tolerations == (), "untainted GPU nodes: no toleration"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"backup": {"mechanism": "restic"}}, "must be tier-label, pod-annotation, schedules or none"),
        ({"backup": {"tiers": {"critical": "GFS"}}}, "missing cache"),
        ({"network": {"policy_engine": "calico"}}, "must be cilium"),
        ({"ingress": {"kind": "route"}}, "must be gateway-api"),
        ({"ingress": {"annotations": {"a/b": 30}}}, "annotation value"),
        ({"storage_classes": []}, "non-empty list of StorageClass names"),
        ({"gateway": {"gateways": [{"name": "internal"}]}}, "non-empty list of Gateways"),
    ],
)
def test_bad_mechanism_values_are_refused_naming_the_key(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        validate(given, ".aiapp.yml")


def test_an_older_template_gets_no_fact_it_does_not_know_while_that_fact_is_the_default() -> None:
    old_defaults = {key: value for key, value in merge({}).items()
                    if key not in {"backup", "network", "ingress", "storage_classes", "secret_stores"}}
    plain = Profile(merge({"storage_class": "ceph-block"})).answer(old_defaults)
    assert set(plain) <= set(old_defaults)
    # A mechanism the older version cannot render is kept, for its validator to refuse by name.
    moved = Profile(merge({"network": {"policy_engine": "none"}})).answer(old_defaults)
    assert moved["network"] == {"policy_engine": "none"}
