"""plan.toml (paketo-community/build-plan) -> the buildpack's build plan, or a one-line-per-entry description.

    plan.py PLAN_TOML BUILD_PLAN    exit 0 with the plan written, 100 when it names nothing, 1 when it is invalid
    plan.py --describe PLAN_TOML    prints "requires go (launch)" lines

The format is the Build Plan TOML of the Buildpack API: [[provides]] name, [[requires]] name + [requires.metadata],
and [[or]] alternatives holding the same. A requirement's top-level `version` (Buildpack API < 0.3) is moved into
its metadata, where current buildpacks read it.
"""
import json
import sys
import tomllib


def fail(msg):
    print(f" !     plan.toml: {msg}", file=sys.stderr)
    print(" !     Its format: [[requires]] name = \"go\" with an optional [requires.metadata] table "
          "(launch = true keeps the dependency in the app image); see docs/buildpacks.md.", file=sys.stderr)
    sys.exit(1)


def entries(table, key, where):
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        fail(f"{where}{key} must be an array of tables ([[{key}]])")
    out = []
    for i, e in enumerate(value):
        name = e.get("name")
        if not isinstance(name, str) or not name.strip():
            fail(f"{where}{key}[{i}] needs a name")
        entry = {"name": name.strip()}
        if key == "requires":
            metadata = e.get("metadata", {})
            if not isinstance(metadata, dict):
                fail(f"{where}requires[{i}] ({name}): metadata must be a table")
            metadata = dict(metadata)
            for k, v in e.items():  # API < 0.3: version and other keys beside the name
                if k not in ("name", "metadata"):
                    metadata.setdefault(k, v)
            if metadata:
                entry["metadata"] = metadata
        out.append(entry)
    return out


def alternative(table, where=""):
    return {"provides": entries(table, "provides", where), "requires": entries(table, "requires", where)}


def value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))  # dates and times: as text


def render(alt, prefix=""):
    lines = []
    for key in ("provides", "requires"):
        for e in alt[key]:
            lines += ["", f"[[{prefix}{key}]]", f"name = {value(e['name'])}"]
            if e.get("metadata"):
                lines.append(f"[{prefix}{key}.metadata]")
                lines += [f"{json.dumps(k)} = {value(v)}" for k, v in e["metadata"].items()]
    return lines


def describe(alt):
    for e in alt["requires"]:
        md = e.get("metadata", {})
        flags = [k for k in ("build", "launch") if md.get(k) is True]
        version = f" {md['version']}" if isinstance(md.get("version"), str) and md["version"] else ""
        print(f"requires {e['name']}{version}" + (f" ({', '.join(flags)})" if flags else ""))
    for e in alt["provides"]:
        print(f"provides {e['name']}")


def main(argv):
    describing = argv[:1] == ["--describe"]
    if describing:
        argv = argv[1:]
    try:
        with open(argv[0], "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        fail(f"not valid TOML: {e}")
    except OSError as e:
        fail(str(e))
    first = alternative(doc)
    ors = doc.get("or", [])
    if not isinstance(ors, list) or not all(isinstance(t, dict) for t in ors):
        fail("or must be an array of tables ([[or]])")
    alts = [first] + [alternative(t, f"or[{i}].") for i, t in enumerate(ors)]
    if describing:
        for i, alt in enumerate(alts):
            if i:
                print("or:")
            describe(alt)
        return 0
    if not any(a["provides"] or a["requires"] for a in alts):
        return 100
    lines = render(first)
    for alt in alts[1:]:
        lines += ["", "[[or]]"] + render(alt, "or.")
    with open(argv[1], "w") as f:
        f.write("\n".join(lines).lstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
