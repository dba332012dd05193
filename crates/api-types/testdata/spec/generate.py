#!/usr/bin/env python3
"""Regenerates the fixtures in this directory from the Engine API spec.

    python3 generate.py /work/shared/reference/docker-engine-api-v1.51.yaml

full/<Type>.json: one object per wire type with every property the spec defines, filled from
the property's `example:` when it is present, non-zero and of the declared type (the spec has
several that are not: `GwPriority: [10]`, `Created: "1644009612"`, ...), else with a
synthesised non-zero value, so that fields skipped when empty still round-trip. Maps get the
single key "key"; the tests rely on that to tell map entries from struct fields.

examples/<name>.json: the spec's own `example:` blocks, verbatim.
"""
import json
import os
import sys

import yaml

MAP_KEY = "key"


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    defs = spec["definitions"]
    paths = spec["paths"]
    here = os.path.dirname(os.path.abspath(__file__))

    def resolve(s):
        while "$ref" in s:
            s = defs[s["$ref"].split("/")[-1]]
        if "allOf" in s:
            props = {}
            for part in s["allOf"]:
                props.update(resolve(part).get("properties", {}))
            return {"type": "object", "properties": props}
        return s

    def valid(value, s):
        t = s.get("type")
        if t == "string":
            return isinstance(value, str) and value != ""
        if t == "integer":
            return isinstance(value, int) and not isinstance(value, bool) and value != 0
        if t == "boolean":
            return value is True
        if t == "array":
            item = resolve(s.get("items", {}))
            return isinstance(value, list) and len(value) > 0 and all(valid(v, item) for v in value)
        return False

    def gen(s, name):
        # Property-level examples win over the referenced definition's.
        example = s.get("example")
        s = {**resolve(s), **{k: v for k, v in s.items() if k in ("example",)}} if "$ref" in s else resolve(s)
        if example is not None and s.get("type") in ("string", "integer", "boolean", "array") and valid(example, s):
            return example
        if "properties" in s:
            return {k: gen(v, k) for k, v in s["properties"].items()}
        t = s.get("type")
        if t == "array":
            n = max(1, s.get("minItems", 1))
            return [gen(s.get("items", {}), name) for _ in range(n)]
        if t == "string":
            enum = [e for e in s.get("enum", []) if e]
            return enum[0] if enum else "x-" + name
        if t == "integer":
            enum = [e for e in s.get("enum", []) if e]
            return enum[0] if enum else 7
        if t == "boolean":
            return True
        extra = s.get("additionalProperties")
        if isinstance(extra, dict):
            return {MAP_KEY: gen(extra, name)}
        return {}

    def body(path, method, param):
        for p in paths[path][method]["parameters"]:
            if p["name"] == param:
                return p["schema"]
        raise KeyError(param)

    def response(path, method, code=200):
        return paths[path][method]["responses"][code]["schema"]

    full = {
        name: {"$ref": "#/definitions/" + name}
        for name in [
            "ContainerConfig", "HostConfig", "Resources", "HealthConfig", "Mount", "MountPoint",
            "Port", "ContainerState", "NetworkSettings", "ContainerInspectResponse",
            "ContainerSummary", "ContainerCreateResponse", "ContainerUpdateResponse",
            "ContainerWaitResponse", "ContainerTopResponse", "FilesystemChange",
            "ContainerStatsResponse", "NetworkingConfig", "EndpointSettings", "ImageSummary",
            "ImageInspect", "ImageConfig", "ImageDeleteResponseItem", "OCIDescriptor",
            "ImageManifestSummary", "BuildInfo", "SystemVersion", "SystemInfo", "EventMessage",
            "ErrorResponse", "IDResponse", "Volume", "VolumeCreateOptions", "VolumeListResponse",
            "Network", "IPAM", "NetworkCreateResponse", "BuildCache",
        ]
    }
    full["ContainerCreateRequest"] = body("/containers/create", "post", "body")
    full["ContainerUpdateRequest"] = body("/containers/{id}/update", "post", "update")
    full["ContainerPruneResponse"] = response("/containers/prune", "post")
    full["ImagePruneResponse"] = response("/images/prune", "post")
    full["HistoryResponseItem"] = response("/images/{name}/history", "get")["items"]
    full["VolumePruneResponse"] = response("/volumes/prune", "post")
    full["NetworkPruneResponse"] = response("/networks/prune", "post")
    full["NetworkCreateRequest"] = body("/networks/create", "post", "networkConfig")
    full["NetworkConnectRequest"] = body("/networks/{id}/connect", "post", "container")
    full["NetworkDisconnectRequest"] = body("/networks/{id}/disconnect", "post", "container")
    full["ExecConfig"] = body("/containers/{id}/exec", "post", "execConfig")
    full["ExecStartConfig"] = body("/exec/{id}/start", "post", "execStartConfig")
    full["ExecInspectResponse"] = response("/exec/{id}/json", "get")
    full["SystemDataUsageResponse"] = response("/system/df", "get")

    os.makedirs(os.path.join(here, "full"), exist_ok=True)
    for name, schema in full.items():
        write(os.path.join(here, "full", name + ".json"), gen(schema, name))

    examples = {
        "container-create": body("/containers/create", "post", "body")["example"],
        "container-update": body("/containers/{id}/update", "post", "update")["example"],
        "container-changes": paths["/containers/{id}/changes"]["get"]["responses"][200]["examples"]["application/json"],
        "exec-create": body("/containers/{id}/exec", "post", "execConfig")["example"],
        "exec-inspect": paths["/exec/{id}/json"]["get"]["responses"][200]["examples"]["application/json"],
        "image-history": paths["/images/{name}/history"]["get"]["responses"][200]["examples"]["application/json"],
        "image-delete": paths["/images/{name}"]["delete"]["responses"][200]["examples"]["application/json"],
        "system-df": response("/system/df", "get")["example"],
        "network-list": paths["/networks"]["get"]["responses"][200]["examples"]["application/json"],
        "network-connect": body("/networks/{id}/connect", "post", "container")["example"],
        "networking-config": defs["NetworkingConfig"]["example"],
        "blkio-stats": defs["ContainerBlkioStats"]["example"],
        "port": defs["Port"]["example"],
        "error": defs["ErrorResponse"]["example"],
    }
    os.makedirs(os.path.join(here, "examples"), exist_ok=True)
    for name, value in examples.items():
        write(os.path.join(here, "examples", name + ".json"), value)


def write(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
