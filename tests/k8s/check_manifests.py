#!/usr/bin/env python3
"""tests/k8s/check_manifests.py: what a schema cannot check in deploy/k8s/.

Checks that the three manifests fit together as one sharded pipesim run:

  - the shards Job is an Indexed Job whose `--shard auto/N` has N equal to
    spec.completions, with parallelism <= completions, restartPolicy Never,
    backoffLimitPerIndex set and `--threads` equal to the CPU request;
  - its scenario argument is the file the ConfigMap volume mounts, and its
    `--out` is a mount of the claim;
  - the merge Job reads (read-only) the same claim and subPath the shards
    write, writes `--out` to a mount of the same claim, and has
    restartPolicy Never;
  - the claim they both use is the ReadWriteMany PersistentVolumeClaim of
    pipesim-pvc.yaml;
  - both Jobs run the same image, with command pipesim.

Usage: check_manifests.py PVC.yaml SHARDS.yaml MERGE.yaml
Prints one line per check; exits 1 if any failed. Needs PyYAML.
"""

import sys

import yaml


def load(path):
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if len(docs) != 1:
        raise SystemExit(f"{path}: expected one document, found {len(docs)}")
    return docs[0]


failures = []


def check(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


def container(job):
    cs = job["spec"]["template"]["spec"]["containers"]
    return next((c for c in cs if c.get("name") == "pipesim"), cs[0])


def arg_after(args, flag):
    return args[args.index(flag) + 1] if flag in args and args.index(flag) + 1 < len(args) else None


def mount_for(job, path):
    """(volume, mount) whose mountPath is path or a parent of it."""
    pod = job["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    best = None
    for m in container(job).get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/")
        if path == mp or path.startswith(mp + "/"):
            if best is None or len(mp) > len(best[1]["mountPath"].rstrip("/")):
                best = (volumes.get(m["name"]), m)
    return best


def main(pvc_path, shards_path, merge_path):
    pvc, shards, merge = load(pvc_path), load(shards_path), load(merge_path)
    check(pvc["kind"] == "PersistentVolumeClaim", f"{pvc_path} is a PersistentVolumeClaim")
    check("ReadWriteMany" in pvc["spec"].get("accessModes", []), "the claim is ReadWriteMany")
    claim = pvc["metadata"]["name"]

    spec = shards["spec"]
    pod = spec["template"]["spec"]
    c = container(shards)
    args = [str(a) for a in c.get("args", [])]
    check(shards["kind"] == "Job" and spec.get("completionMode") == "Indexed",
          "the shards Job is an Indexed Job")
    shard = arg_after(args, "--shard") or ""
    n = spec.get("completions")
    check(args[:1] == ["run"] and shard.startswith("auto/"), f"shards run `run ... --shard auto/N` ({shard})")
    check(shard == f"auto/{n}", f"--shard {shard} matches completions: {n}")
    check(1 <= spec.get("parallelism", 1) <= (n or 0), f"parallelism {spec.get('parallelism')} <= completions {n}")
    check(pod.get("restartPolicy") == "Never", "shards: restartPolicy Never")
    check("backoffLimitPerIndex" in spec, "shards: backoffLimitPerIndex set (retries per shard)")
    cpu = str(c.get("resources", {}).get("requests", {}).get("cpu", ""))
    threads = arg_after(args, "--threads")
    check(threads is not None and threads == cpu, f"shards: --threads {threads} equals the CPU request {cpu!r}")

    scenario = args[1] if len(args) > 1 else ""
    found = mount_for(shards, scenario)
    ok = False
    if found and found[0] and "configMap" in found[0]:
        rel = scenario[len(found[1]["mountPath"].rstrip("/")) + 1:]
        items = found[0]["configMap"].get("items")
        ok = items is None or any(i["path"] == rel for i in items)
    check(ok, f"shards: the scenario {scenario} is a file of the ConfigMap volume")

    parts = arg_after(args, "--out") or ""
    found = mount_for(shards, parts)
    shard_claim = found and found[0] and found[0].get("persistentVolumeClaim", {}).get("claimName")
    check(shard_claim == claim, f"shards: --out {parts} is on the claim {claim}")
    shard_sub = found[1].get("subPath", "") if found else None

    mspec = merge["spec"]
    mc = container(merge)
    margs = [str(a) for a in mc.get("args", [])]
    check(merge["kind"] == "Job" and margs[:1] == ["merge"], "the merge Job runs `merge`")
    check(mspec["template"]["spec"].get("restartPolicy") == "Never", "merge: restartPolicy Never")
    mparts = margs[1] if len(margs) > 1 else ""
    found = mount_for(merge, mparts)
    same = bool(found and found[0]
                and found[0].get("persistentVolumeClaim", {}).get("claimName") == claim
                and found[1].get("subPath", "") == shard_sub
                and found[1]["mountPath"].rstrip("/") == mparts.rstrip("/"))
    check(same, f"merge: reads {mparts}, the claim's {shard_sub or '/'} the shards write")
    check(bool(found and found[1].get("readOnly")), "merge: the parts are mounted read-only")
    mout = arg_after(margs, "--out") or ""
    found = mount_for(merge, mout)
    check(bool(found and found[0] and not found[1].get("readOnly")
               and found[0].get("persistentVolumeClaim", {}).get("claimName") == claim),
          f"merge: --out {mout} is a writable mount of the claim {claim}")
    check(bool(found and found[1]["mountPath"].rstrip("/") != mout.rstrip("/")),
          f"merge: --out {mout} is inside its mount, not the mount point (pipesim renames"
          " the staged results into place beside it)")

    check(c.get("image") == mc.get("image"), f"both Jobs run the same image ({c.get('image')})")
    check(c.get("command") == ["pipesim"] and mc.get("command") == ["pipesim"], "both run command pipesim")

    if failures:
        print(f"consistency: {len(failures)} check(s) FAILED")
        return 1
    print("consistency: all checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: check_manifests.py PVC.yaml SHARDS.yaml MERGE.yaml")
    sys.exit(main(*sys.argv[1:]))
