"""The seeded AWS estate: what :func:`seed_estate` plants into moto and the :class:`Manifest` it returns.

See ``workbench.emulators.aws`` for the server and for what moto cannot do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from workbench.emulators.aws_manifest import (
    ALLOWLISTED_ACCOUNT,
    FOREIGN_ACCOUNT,
    HOSTILE_NAME,
    HOSTILE_NAME_XML,
    MAIN_ACCOUNT,
    REGIONS,
    SECOND_ACCOUNT,
    SECOND_ROLE_ARN,
    Manifest,
)
from workbench.model import make_uid

_FAKE_AMI = "ami-12345678"  # accepted by moto when AMI validation is off
DEV_BOX_USER_DATA = "#!/bin/sh\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n/opt/app/start\n"


def _tags(kind: str, **tags: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


class _Seeder:
    """Plants one (account, region) and records it in the manifest."""

    def __init__(
        self, session: Any, endpoint: str | None, account: str, region: str, manifest: Manifest
    ) -> None:
        self.ec2 = session.client("ec2", region_name=region, endpoint_url=endpoint)
        self.account, self.region, self.m = account, region, manifest
        # Looked up together in finish(): every round trip to moto costs ~30 ms of the demo's start-up.
        self._instances: list[str] = []
        self._images: list[str] = []
        self._volumes: set[str] = set()

    def add(self, kind: str, rid: str, *categories: str) -> str:
        return self.m.add(self.account, self.region, kind, rid, *categories)

    def uid(self, kind: str, rid: str) -> str:
        return make_uid("aws", self.account, self.region, kind, rid)

    def instance(
        self,
        name: str,
        *,
        tokens: str = "optional",
        subnet: str | None = None,
        groups: Iterable[str] = (),
        profile: str | None = None,
        stop: bool = False,
        user_data: str | None = None,
        protected: bool = False,
        **tags: str,
    ) -> str:
        kwargs: dict[str, Any] = {
            "ImageId": _FAKE_AMI,
            "MinCount": 1,
            "MaxCount": 1,
            "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            "TagSpecifications": _tags("instance", Name=name, **tags),
        }
        if subnet:
            kwargs["SubnetId"] = subnet
        if groups:
            kwargs["SecurityGroupIds"] = list(groups)
        if profile:
            kwargs["IamInstanceProfile"] = {"Arn": profile}
        if user_data:
            kwargs["UserData"] = user_data
        iid = self.ec2.run_instances(**kwargs)["Instances"][0]["InstanceId"]
        if (
            protected
        ):  # moto ignores DisableApiTermination on RunInstances; the attribute call works
            self.ec2.modify_instance_attribute(
                InstanceId=iid, DisableApiTermination={"Value": True}
            )
        if stop:
            self.ec2.stop_instances(InstanceIds=[iid])
        cats = ["imdsv2_instances" if tokens == "required" else "imdsv1_instances"]
        cats += ["stopped_instances"] if stop else ["running_instances"]
        cats += [] if "Owner" in tags else ["missing_owner_tag"]
        cats += [] if "Environment" in tags else ["missing_environment_tag"]
        cats += ["profile_instances"] if profile else []
        cats += ["user_data_secret_instances"] if user_data and "AKIA" in user_data else []
        cats += ["termination_protected"] if protected else []
        cats += ["prod_instances"] if tags.get("Environment") == "prod" else []
        world_ssh = self.m.categories.get("world_ssh_groups", set())
        if any(self.uid("firewall_group", g) in world_ssh for g in groups):
            cats.append("world_ssh_instances")
        uid = self.add("instance", iid, *cats)
        self.m.names[uid] = name
        self._instances.append(iid)  # public IP and root volume: one describe for all, in finish()
        return iid

    def volume(self, name: str, *, encrypted: bool, attach_to: str | None = None) -> str:
        vid = self.ec2.create_volume(
            AvailabilityZone=f"{self.region}a",
            Size=8,
            VolumeType="gp3",
            Encrypted=encrypted,
            TagSpecifications=_tags("volume", Name=name),
        )["VolumeId"]
        cats = [] if encrypted else ["unencrypted_volumes"]
        if attach_to:
            self.ec2.attach_volume(VolumeId=vid, InstanceId=attach_to, Device="/dev/sdf")
        else:
            cats.append("unattached_volumes")
        self.add("volume", vid, *cats)
        self._volumes.add(vid)
        return vid

    def snapshot(
        self,
        volume: str,
        name: str,
        *,
        public: bool = False,
        shared_with: Iterable[str] = (),
        encrypted: bool,
    ) -> str:
        sid = self.ec2.create_snapshot(
            VolumeId=volume, TagSpecifications=_tags("snapshot", Name=name)
        )["SnapshotId"]
        cats = [] if encrypted else ["unencrypted_snapshots"]
        if public:
            # moto ignores the structured CreateVolumePermission form; the flat form works everywhere.
            self.ec2.modify_snapshot_attribute(
                SnapshotId=sid,
                Attribute="createVolumePermission",
                OperationType="add",
                GroupNames=["all"],
            )
            cats.append("public_snapshots")
            self.m.add(self.account, self.region, "grant", f"{sid}/all", "public_grants")
        for acct in shared_with:
            self.ec2.modify_snapshot_attribute(
                SnapshotId=sid,
                Attribute="createVolumePermission",
                OperationType="add",
                UserIds=[acct],
            )
            cats.append(f"snapshots_shared_{acct}")
            self.m.add(self.account, self.region, "grant", f"{sid}/{acct}", "account_grants")
        self.add("snapshot", sid, *cats)
        return sid

    def image(
        self,
        name: str,
        *,
        public: bool = False,
        shared_with: Iterable[str] = (),
        encrypted: bool = False,
    ) -> str:
        mapping = {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "Encrypted": encrypted}}
        aid = self.ec2.register_image(
            Name=name,
            RootDeviceName="/dev/xvda",
            BootMode="uefi",
            BlockDeviceMappings=[mapping],
            TagSpecifications=_tags("image", Name=name),
        )["ImageId"]
        perms: dict[str, Any] = {"Add": []}
        cats = []
        if public:
            perms["Add"].append({"Group": "all"})
            cats.append("public_images")
            self.m.add(self.account, self.region, "grant", f"{aid}/all", "public_grants")
        for acct in shared_with:
            perms["Add"].append({"UserId": acct})
            cats.append(f"images_shared_{acct}")
            self.m.add(self.account, self.region, "grant", f"{aid}/{acct}", "account_grants")
        if perms["Add"]:
            self.ec2.modify_image_attribute(ImageId=aid, LaunchPermission=perms)
        self.add("image", aid, *cats)
        self._images.append(aid)  # its backing snapshot is recorded in finish()
        return aid

    def group(self, name: str, vpc: str, rules: list[tuple[int, list[str]]], *cats: str) -> str:
        gid = self.ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        perms = []
        for port, sources in rules:
            perm: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
            perm["IpRanges"] = [{"CidrIp": s} for s in sources if "." in s and "/" in s]
            perm["Ipv6Ranges"] = [{"CidrIpv6": s} for s in sources if ":" in s]
            perm["UserIdGroupPairs"] = [{"GroupId": s} for s in sources if s.startswith("sg-")]
            perms.append(perm)
        if perms:
            self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
        self.add("firewall_group", gid, *cats)
        return gid

    def vpc(self, name: str, cidr: str, *, flow_logs: bool) -> tuple[str, str]:
        vid = self.ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_tags("vpc", Name=name))["Vpc"]
        vpc_id = vid["VpcId"]
        sub = self.ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=cidr.replace("0.0/16", "1.0/24"),
            AvailabilityZone=f"{self.region}a",
        )["Subnet"]
        if flow_logs:
            self.ec2.create_flow_logs(
                ResourceIds=[vpc_id],
                ResourceType="VPC",
                TrafficType="ALL",
                LogDestinationType="cloud-watch-logs",
                LogGroupName=f"/vpc/{name}",
                DeliverLogsPermissionArn=f"arn:aws:iam::{self.account}:role/flow-logs",
            )
        self.add(
            "network", vpc_id, "vpcs_with_flow_logs" if flow_logs else "vpcs_without_flow_logs"
        )
        self.add("subnet", sub["SubnetId"])
        return vpc_id, sub["SubnetId"]

    def finish(self) -> None:
        """What moto decided for the planted instances and images, and its own defaults (VPC, subnets,
        security groups), which are part of the estate too."""
        vpcs = self.ec2.describe_vpcs()["Vpcs"]
        default_vpcs = {v["VpcId"] for v in vpcs if v.get("IsDefault")}
        if self._instances:
            reservations = self.ec2.describe_instances(InstanceIds=self._instances)["Reservations"]
            roots = []
            for item in (i for r in reservations for i in r["Instances"]):
                iid = item["InstanceId"]
                if item.get("PublicIpAddress"):
                    self.add("instance", iid, "public_ip_instances")
                if item.get("VpcId") in default_vpcs:
                    self.add("instance", iid, "default_vpc_instances")
                # moto runs the placeholder AMI as paravirtual: what the estate's VMs really report.
                if item.get("VirtualizationType") == "paravirtual":
                    self.add("instance", iid, "paravirtual_instances")
                for bdm in item.get("BlockDeviceMappings") or []:
                    if bdm["Ebs"]["VolumeId"] not in self._volumes:  # not a planted, attached one
                        self.add("volume", bdm["Ebs"]["VolumeId"], "root_volumes")
                        roots.append(bdm["Ebs"]["VolumeId"])
            if (
                roots
            ):  # moto's root volumes are unencrypted, as EC2's are without default encryption
                for vol in self.ec2.describe_volumes(VolumeIds=roots)["Volumes"]:
                    if not vol.get("Encrypted"):
                        self.add("volume", vol["VolumeId"], "unencrypted_volumes")
        if self._images:
            # moto backs every registered image with a snapshot of its own, owned by the account.
            for image in self.ec2.describe_images(ImageIds=self._images)["Images"]:
                for bdm in image.get("BlockDeviceMappings") or []:
                    if bdm.get("Ebs", {}).get("SnapshotId"):
                        self.add("snapshot", bdm["Ebs"]["SnapshotId"], "image_snapshots")
        for vpc in vpcs:
            cats = ["vpcs_without_flow_logs", "default_vpcs"] if vpc.get("IsDefault") else []
            if cats:
                self.add("network", vpc["VpcId"], *cats)
        for sub in self.ec2.describe_subnets()["Subnets"]:
            self.add("subnet", sub["SubnetId"])
        for sg in self.ec2.describe_security_groups()["SecurityGroups"]:
            self.add(
                "firewall_group",
                sg["GroupId"],
                *(["default_groups"] if sg["GroupName"] == "default" else []),
            )

    def ssm(
        self,
        instances: dict[str, str],
        *,
        patched_by_id: tuple[str, ...] = (),
        patched_by_tag: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        """Register managed instances (id → computer name) with the SSM fake; the first is unpatched.

        AWS-RunPatchBaseline associations target ``patched_by_id`` by instance id and ``patched_by_tag``
        (id → one of its EC2 tags) by that tag; any other managed instance has no patch association.
        """
        by_tag = patched_by_tag or {}
        info, states = [], []
        for n, (iid, computer) in enumerate(sorted(instances.items())):
            info.append(
                {
                    "InstanceId": iid,
                    "PingStatus": "Online" if n else "ConnectionLost",
                    "ComputerName": computer,
                    "PlatformName": "Amazon Linux",
                    "ResourceType": "EC2Instance",
                    "AgentVersion": "3.3.0.0",
                    "_tags": dict([by_tag[iid]]) if iid in by_tag else {},
                }
            )
            states.append(
                {
                    "InstanceId": iid,
                    "PatchGroup": "default",
                    "BaselineId": "pb-0123456789abcdef0",
                    "Operation": "Scan",
                    "OperationStartTime": "2026-01-01T00:00:00Z",
                    "OperationEndTime": "2026-01-01T00:10:00Z",
                    "InstalledCount": 100,
                    "MissingCount": 7 if n == 0 else 0,
                    "FailedCount": 0,
                    "CriticalNonCompliantCount": 2 if n == 0 else 0,
                    "SecurityNonCompliantCount": 3 if n == 0 else 0,
                }
            )
            self.add("patch_state", iid, "managed_instances")
            if n == 0:  # the first managed instance is offline and misses patches
                self.add("instance", iid, "agent_offline", "missing_patches")
            if iid not in patched_by_id and iid not in by_tag:
                self.add("instance", iid, "no_patch_association")
        # AWS-UpdateSSMAgent is not a patching document: it must not count.
        targets = [("AWS-UpdateSSMAgent", "InstanceIds", ["*"])]
        targets += (
            [("AWS-RunPatchBaseline", "InstanceIds", sorted(patched_by_id))]
            if patched_by_id
            else []
        )
        targets += [
            ("AWS-RunPatchBaseline", f"tag:{k}", [v]) for k, v in sorted(set(by_tag.values()))
        ]
        associations = [
            {
                "AssociationId": f"assoc-{n}",
                "AssociationName": f"{doc}-{n}",
                "Name": doc,
                "Targets": [{"Key": key, "Values": values}],
                "ScheduleExpression": "rate(1 day)",
            }
            for n, (doc, key, values) in enumerate(targets)
        ]
        from workbench.emulators.aws import register_ssm

        register_ssm(self.account, self.region, info, states, associations)


def _session(**kwargs: Any) -> Any:
    # The provider's own session factory: the seed and the collectors then parse botocore's service models
    # (EC2's is large) once per process, not once per session.
    from workbench.providers.aws.sessions import AwsSettings

    return AwsSettings().session(**kwargs)


def _session_for(target: Any, region: str) -> tuple[Any, str | None]:
    if isinstance(target, str):
        # moto accepts any credentials; explicit ones keep the seed independent of the caller's chain.
        return _session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        ), target
    return target, None


def seed_estate(endpoint_or_session: Any, *, regions: tuple[str, str] = REGIONS) -> Manifest:
    """Plant the estate into a fresh moto (an endpoint URL, or a boto3 Session under ``mock_aws``).

    Main account 123456789012: in ``regions[0]`` a prod VPC with flow logs and a dev VPC without; security
    groups open to 0.0.0.0/0 and ::/0 on 22, 3389 and 3306, a narrow one, the default group given a rule;
    four instances (IMDSv1 and v2, one stopped, tags missing, public IPs, the hostile name); attached,
    unattached and unencrypted volumes; snapshots public, shared with a foreign account, shared with the
    allowlisted one, unencrypted; images public, shared and private+encrypted; EBS default encryption off.
    In ``regions[1]`` EBS default encryption on and a small clean footprint. Second account 222233334444
    (reached with ``sts.assume_role(SECOND_ROLE_ARN)``): a public instance behind an SSH-open group and a
    public snapshot. Seed a fresh server once: names are fixed, ids are moto's.
    """
    from workbench.emulators.aws import install_ssm_fake

    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    install_ssm_fake()
    home, other = regions
    session, endpoint = _session_for(endpoint_or_session, home)
    m = Manifest(endpoint=endpoint, regions=tuple(regions))
    iam = session.client("iam", region_name=home, endpoint_url=endpoint)
    profile = iam.create_instance_profile(InstanceProfileName="app-server")["InstanceProfile"][
        "Arn"
    ]

    s = _Seeder(session, endpoint, MAIN_ACCOUNT, home, m)
    default_vpc = next(v["VpcId"] for v in s.ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    prod, prod_subnet = s.vpc("prod", "10.0.0.0/16", flow_logs=True)
    s.vpc("dev", "10.1.0.0/16", flow_logs=False)
    world = ["0.0.0.0/0", "::/0"]
    ssh = s.group("ssh-open", default_vpc, [(22, world)], "world_ssh_groups")
    rdp = s.group("rdp-open", default_vpc, [(3389, world[:1])], "world_rdp_groups")
    mysql = s.group("mysql-open", prod, [(3306, world)], "world_mysql_groups")
    narrow = s.group("https-internal", prod, [(443, ["10.0.0.0/16", ssh])], "narrow_groups")
    default_sg = s.ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [default_vpc]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"][0]["GroupId"]
    s.ec2.authorize_security_group_ingress(
        GroupId=default_sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )
    m.add(MAIN_ACCOUNT, home, "firewall_group", default_sg, "default_group_with_rules")

    web = s.instance("web-1", groups=[ssh], Owner="web-team", Environment="prod")
    app = s.instance(
        "app-1",
        tokens="required",
        subnet=prod_subnet,
        groups=[narrow],
        profile=profile,
        Owner="app-team",
        Environment="prod",
    )
    s.instance("legacy-db", subnet=prod_subnet, groups=[mysql], stop=True, Environment="prod")
    hostile = s.instance(HOSTILE_NAME_XML, groups=[rdp])
    m.categories["hostile_names"] = {make_uid("aws", MAIN_ACCOUNT, home, "instance", hostile)}
    data = s.volume("app-data", encrypted=True, attach_to=app)
    loose = s.volume("scratch-unencrypted", encrypted=False)
    s.volume("old-encrypted", encrypted=True)
    s.snapshot(loose, "public-backup", public=True, encrypted=False)
    s.snapshot(data, "shared-foreign", shared_with=[FOREIGN_ACCOUNT], encrypted=True)
    s.snapshot(data, "shared-partner", shared_with=[ALLOWLISTED_ACCOUNT], encrypted=True)
    s.snapshot(loose, "plain-unencrypted", encrypted=False)
    s.image("golden-public", public=True)
    s.image("golden-shared", shared_with=[FOREIGN_ACCOUNT])
    s.image("golden-private", encrypted=True)
    s.ssm(
        {hostile: HOSTILE_NAME, app: "app-1", web: "web-1"},
        patched_by_id=(app,),
        patched_by_tag={web: ("Owner", "web-team")},
    )
    m.categories["hostile_names"].add(make_uid("aws", MAIN_ACCOUNT, home, "patch_state", hostile))
    s.finish()
    m.settings[(MAIN_ACCOUNT, home)] = False

    s = _Seeder(session, endpoint, MAIN_ACCOUNT, other, m)
    s.ec2.enable_ebs_encryption_by_default()
    api = s.instance(
        "api-1", tokens="required", Owner="api-team", Environment="prod", protected=True
    )
    vol = s.volume("api-spare", encrypted=True)
    s.snapshot(vol, "api-backup", encrypted=True)
    s.finish()
    m.settings[(MAIN_ACCOUNT, other)] = True
    del api

    sts = session.client("sts", region_name=home, endpoint_url=endpoint)
    creds = sts.assume_role(RoleArn=SECOND_ROLE_ARN, RoleSessionName="vmwb-seed")["Credentials"]
    second = _session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=home,
    )
    s = _Seeder(second, endpoint, SECOND_ACCOUNT, home, m)
    dev_vpc = next(v["VpcId"] for v in s.ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    ssh2 = s.group("ssh-open", dev_vpc, [(22, world[:1])], "world_ssh_groups")
    # AWS's documented example key: a planted secret in user data (CFG-03).
    s.instance("dev-box", groups=[ssh2], user_data=DEV_BOX_USER_DATA)
    loose2 = s.volume("dev-scratch", encrypted=False)
    s.snapshot(loose2, "dev-dump", public=True, encrypted=False)
    s.finish()
    m.settings[(SECOND_ACCOUNT, home)] = False
    s = _Seeder(second, endpoint, SECOND_ACCOUNT, other, m)
    s.finish()
    m.settings[(SECOND_ACCOUNT, other)] = False
    return m
