"""Meets a requirements file from the distribution's packages when no package index answers (air-gapped hosts).

    debian_reqs.py resolve REQS APP_DIR [MAPFILE]   JSON: {"met": [...], "unmet": [...], "notes": [...]}
    debian_reqs.py closure PKG...                   the installed packages PKG... need, one per line with its
                                                    kind: "python" (files in dist-packages) or "other"
    debian_reqs.py copy SITE LIBDIR PKG...          their dist-packages files into SITE, shared libraries into LIBDIR
    debian_reqs.py scripts VENV                     console scripts of what SITE holds, in VENV/bin
    debian_reqs.py verify REQS APP_DIR              (run by the venv's python) every requirement is importable
                                                    metadata-wise at a version its specifier accepts

A requirement `Flask>=2` is met by the Debian package that holds the project: dh-python's own table of
distribution names (MAPFILE, /usr/share/dh-python/dist/cpython3_fallback) first, else python3-<normalised name>;
the package's upstream version (epoch, Debian revision and +dfsg-style suffixes removed) must satisfy the
specifier. Nothing is installed here: the caller installs the packages with apt-get and copies their files into
the app's virtualenv (a venv does not see /usr/lib/python3/dist-packages, and the run image has not got them).
"""
import json
import os
import re
import shutil
import subprocess
import sys

try:
    from packaging.markers import InvalidMarker
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError:  # pip's vendored copy (python3-pip), always there in the build image
    from pip._vendor.packaging.markers import InvalidMarker
    from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
    from pip._vendor.packaging.utils import canonicalize_name
    from pip._vendor.packaging.version import InvalidVersion, Version

DIST_PACKAGES = "/usr/lib/python3/dist-packages/"
LIB_DIRS = ("/usr/lib/x86_64-linux-gnu/", "/usr/lib/aarch64-linux-gnu/", "/lib/x86_64-linux-gnu/",
            "/lib/aarch64-linux-gnu/")


def requirement_lines(path, app_dir, seen=None):
    """(line, source) for each requirement of a pip requirements file; -r files followed, options skipped."""
    seen = seen if seen is not None else set()
    real = os.path.realpath(path)
    if real in seen:
        return
    seen.add(real)
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read().replace("\\\n", " ")
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        m = re.match(r"^(-r|--requirement)(\s+|=)(.+)$", line)
        if m:
            inc = m.group(3).strip()
            inc_path = inc if os.path.isabs(inc) else os.path.join(app_dir, inc)
            if os.path.isfile(inc_path):
                yield from requirement_lines(inc_path, app_dir, seen)
            else:
                yield (line, "missing-include")
            continue
        if line.startswith("-e ") or line.startswith("--editable"):
            yield (line, "unsupported")
            continue
        if line.startswith("-"):
            yield (line, "option")
            continue
        yield (line, "requirement")


def load_map(mapfile):
    table = {}
    if mapfile and os.path.isfile(mapfile):
        with open(mapfile, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and not line.startswith("#"):
                    table.setdefault(canonicalize_name(parts[0]), parts[1].rstrip(";,"))
    return table


def candidate(pkg):
    """The version apt would install, or None when the package does not exist."""
    out = subprocess.run(["apt-cache", "policy", pkg], capture_output=True, text=True).stdout
    m = re.search(r"^\s*Candidate:\s*(\S+)", out, re.M)
    return m.group(1) if m and m.group(1) != "(none)" else None


def upstream(debian_version):
    """'1:2.2.2+dfsg-3' -> '2.2.2'; '1.2+really1.1-1' -> '1.1'. None when it does not read as a version."""
    v = debian_version.split(":", 1)[-1]
    if "-" in v:
        v = v.rsplit("-", 1)[0]
    if "really" in v:
        v = v.split("really", 1)[1]
    v = re.split(r"[+~]", v)[0]
    for text in (v, (re.match(r"^\d+(\.\d+)*", v) or [None])[0]):
        if text:
            try:
                return Version(text)
            except InvalidVersion:
                pass
    return None


def resolve(reqs, app_dir, mapfile=None):
    table = load_map(mapfile)
    met, unmet, notes = [], [], []
    for line, kind in requirement_lines(reqs, app_dir):
        if kind == "option":
            notes.append(f"ignored for Debian packages: {line}")
            continue
        if kind == "missing-include":
            unmet.append({"requirement": line, "why": "the included file is not in the repository"})
            continue
        if kind == "unsupported" or "://" in line or line.startswith((".", "/")):
            unmet.append({"requirement": line, "why": "a URL, path or editable install: no Debian package is that"})
            continue
        try:
            req = Requirement(line)
        except (InvalidRequirement, InvalidMarker) as e:
            unmet.append({"requirement": line, "why": f"not a requirement pip would read ({e})"})
            continue
        if req.marker is not None and not req.marker.evaluate():
            notes.append(f"skipped (its marker is false here): {line}")
            continue
        name = canonicalize_name(req.name)
        if req.url:
            unmet.append({"requirement": line, "why": "a direct URL: no Debian package is that"})
            continue
        packages = [p for p in (table.get(name), f"python3-{name}") if p]
        tried = []
        found = None
        for pkg in dict.fromkeys(packages):
            version = candidate(pkg)
            if version is None:
                tried.append(f"no package {pkg}")
                continue
            up = upstream(version)
            if up is None or not req.specifier.contains(up, prereleases=True):
                tried.append(f"{pkg} is {version}, which does not satisfy {req.specifier or 'it'}")
                continue
            found = {"requirement": line, "name": name, "package": pkg, "version": str(up), "debian": version}
            break
        if found:
            if req.extras:
                notes.append(f"{line}: extras [{','.join(sorted(req.extras))}] are not added from Debian packages")
            met.append(found)
        else:
            unmet.append({"requirement": line, "why": "; ".join(tried) or "no Debian package"})
    return {"met": met, "unmet": unmet, "notes": notes}


def installed_files(pkg):
    r = subprocess.run(["dpkg-query", "-L", pkg], capture_output=True, text=True)
    return r.stdout.splitlines() if r.returncode == 0 else []


def depends(pkg):
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Depends},${Pre-Depends}", pkg], capture_output=True,
                         text=True).stdout
    names = []
    for group in out.split(","):
        alternatives = [a.strip().split(" ")[0].split(":")[0] for a in group.split("|") if a.strip()]
        installed = [a for a in alternatives if is_installed(a)]
        if installed:
            names.append(installed[0])
    return names


_installed = {}


def is_installed(pkg):
    if pkg not in _installed:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", pkg], capture_output=True, text=True)
        _installed[pkg] = r.returncode == 0 and r.stdout.startswith("ii")
    return _installed[pkg]


def closure(pkgs):
    """Every installed package the given ones need, the given ones included, each with its kind. The
    interpreter's own packages (python3, python3.11, libpython3*) are in the run image, and pip and setuptools in
    every virtualenv: not followed."""
    seen, order, stack = set(), [], list(pkgs)
    while stack:
        pkg = stack.pop()
        if pkg in seen or not is_installed(pkg):
            continue
        seen.add(pkg)
        if re.match(r"^(python3(\.\d+)?(-minimal)?|libpython3.*|python3-distutils|python3-lib2to3)$", pkg):
            continue
        # what every virtualenv has already (python3 -m venv installs pip and setuptools), unless asked for
        if pkg in ("python3-setuptools", "python3-pkg-resources", "python3-pip", "python3-wheel") and pkg not in pkgs:
            continue
        files = installed_files(pkg)
        kind = "python" if any(f.startswith(DIST_PACKAGES) for f in files) else "other"
        order.append((pkg, kind))
        stack.extend(depends(pkg))
    return order


def copy(site, libdir, pkgs):
    count = 0
    for pkg in pkgs:
        for f in installed_files(pkg):
            if f.startswith(DIST_PACKAGES) and not os.path.isdir(f):
                dest = os.path.join(site, f[len(DIST_PACKAGES):])
            elif f.startswith(LIB_DIRS) and ".so" in os.path.basename(f) and not os.path.isdir(f):
                dest = os.path.join(libdir, os.path.basename(f))
            else:
                continue
            if not os.path.lexists(f):
                continue
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            if os.path.lexists(dest):
                os.remove(dest)
            shutil.copy2(f, dest, follow_symlinks=False) if os.path.islink(f) else shutil.copy2(f, dest)
            count += 1
    print(count)


def scripts(venv):
    """Console scripts of the distributions in the venv (pip writes them; a copy from dist-packages has none)."""
    import configparser
    import glob

    site = glob.glob(os.path.join(venv, "lib", "python3*", "site-packages"))[0]
    python = os.path.join(venv, "bin", "python")
    made = []
    for ep in glob.glob(os.path.join(site, "*.dist-info", "entry_points.txt")) + glob.glob(
            os.path.join(site, "*.egg-info", "entry_points.txt")):
        cp = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        cp.optionxform = str
        try:
            cp.read(ep, encoding="utf-8")
        except configparser.Error:
            continue
        if not cp.has_section("console_scripts"):
            continue
        for name, target in cp.items("console_scripts"):
            m = re.match(r"^\s*([\w.]+)\s*:\s*([\w.]+)", target)
            path = os.path.join(venv, "bin", name.strip())
            if not m or os.path.exists(path) or not re.match(r"^[\w.-]+$", name.strip()):
                continue
            module, attr = m.groups()
            head, _, rest = attr.partition(".")
            call = f"{head}{('.' + rest) if rest else ''}"
            with open(path, "w") as f:
                f.write(f"#!{python}\nimport sys\nfrom {module} import {head}\nif __name__ == '__main__':\n"
                        f"    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n    sys.exit({call}())\n")
            os.chmod(path, 0o755)
            made.append(name.strip())
    print(" ".join(sorted(made)))


def verify(reqs, app_dir):
    from importlib import metadata

    bad = []
    for line, kind in requirement_lines(reqs, app_dir):
        if kind != "requirement":
            continue
        try:
            req = Requirement(line)
        except (InvalidRequirement, InvalidMarker):
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            v = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            bad.append(f"{line}: not visible in the virtualenv")
            continue
        if not req.specifier.contains(v, prereleases=True):
            bad.append(f"{line}: the virtualenv has {v}")
    for b in bad:
        print(b)
    return 1 if bad else 0


def main(argv):
    cmd, args = argv[0], argv[1:]
    if cmd == "resolve":
        print(json.dumps(resolve(args[0], args[1], args[2] if len(args) > 2 else None)))
    elif cmd == "closure":
        for pkg, kind in closure(args):
            print(f"{pkg}\t{kind}")
    elif cmd == "copy":
        copy(args[0], args[1], args[2:])
    elif cmd == "scripts":
        scripts(args[0])
    elif cmd == "verify":
        return verify(args[0], args[1])
    else:
        print(f"unknown command {cmd}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
