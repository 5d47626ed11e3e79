"""Response timestamps go through the standard library's ISO parser: the same instants as botocore's."""

from __future__ import annotations

import datetime as dt

import botocore.utils
import pytest

from workbench.providers.aws.sessions import AwsSettings, parse_timestamp

SAME_AS_BOTOCORE = [
    "2026-11-27T05:11:32Z",
    "2026-11-27T05:11:32.000Z",
    "2026-11-27T05:11:32.123456Z",
    "2026-11-27T07:11:32+02:00",
    "2026-11-27T05:11:32",  # no zone: botocore's rule applies
    "Fri, 27 Nov 2026 05:11:32 GMT",  # RFC 822
    1795756292,  # epoch seconds
    "1795756292",
]


@pytest.mark.parametrize("value", SAME_AS_BOTOCORE)
def test_same_instant_as_botocore(value: object) -> None:
    ours, theirs = parse_timestamp(value), botocore.utils.parse_timestamp(value)
    assert ours == theirs and (ours.tzinfo is None) == (theirs.tzinfo is None)
    if ours.tzinfo is not None:
        assert ours.utcoffset() == theirs.utcoffset()


def test_garbage_is_refused_as_botocore_refuses_it() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("not a time")


def test_vmwb_clients_parse_with_it(aws_estate) -> None:  # type: ignore[no-untyped-def]
    with aws_estate.env():
        session = AwsSettings.from_section(aws_estate.section).session()
        ec2 = session.client(
            "ec2", region_name=aws_estate.manifest.regions[0], endpoint_url=aws_estate.endpoint
        )
        reservations = ec2.describe_instances()["Reservations"]
    launched = [i["LaunchTime"] for r in reservations for i in r["Instances"]]
    assert launched
    # The standard library's zone, not dateutil's tzutc: our parser read them.
    assert all(
        isinstance(t.tzinfo, dt.timezone) and t.utcoffset() == dt.timedelta(0) for t in launched
    )
