"""Cgroup ids to label values: container ids parsed from the runtimes' cgroup
names, and the id -> path cache that walks the hierarchy only for new ids."""

from __future__ import annotations

import os

from purebpf.agent.filters import CgroupNames, cgroup2_root, container_id
from tests.agent.harness import unique

CID = "0123456789abcdef" * 4


def test_container_ids_of_the_runtimes():
    for path in (f"/system.slice/docker-{CID}.scope", f"/docker/{CID}",
                 f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/cri-containerd-{CID}.scope",
                 f"/kubepods/besteffort/pod6b0f3c9e-1111-2222-3333-444455556666/{CID}",
                 f"/machine.slice/libpod-{CID}.scope", f"/kubepods.slice/kubepods-pod7.slice/crio-{CID}.scope",
                 f"/machine.slice/libpod-{CID}.scope/container"):
        assert container_id(path) == CID, path
    for path in ("/", "/user.slice/user-0.slice/session-3.scope", f"/machine.slice/libpod-conmon-{CID}.scope",
                 f"/system.slice/crio-conmon-{CID}.scope", "/docker/" + CID[:12], f"/docker-{CID}x.scope"):
        assert container_id(path) == "", path


def test_cgroup_names_walk_only_for_new_ids():
    root = cgroup2_root()
    cg = root / unique("pbt_names") / f"docker-{CID}.scope"
    cg.mkdir(parents=True)
    try:
        names = CgroupNames()
        ino = os.stat(cg).st_ino
        assert names.label(ino).path == "/" + str(cg.relative_to(root)) and names.label(ino).container == CID
        assert names.label(os.stat(root).st_ino).path == "/"
        assert names.walks == 1  # the root was learnt by the same walk
        names.resolve([ino, os.stat(root).st_ino])
        assert names.walks == 1
        gone = 1 << 62  # no cgroup has this id: unknown, and remembered as such
        assert names.label(gone).path == "" and names.walks == 2
        names.resolve([gone])
        assert names.walks == 2
    finally:
        cg.rmdir()
        cg.parent.rmdir()
