#!/usr/bin/env python3
"""Rebuilds the seed corpora under fuzz/corpus/<target>/ from the repository's fixtures and
from the string literals of the parsers' unit tests. Run from anywhere: python3 fuzz/seeds.py"""
import glob
import hashlib
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED = 64 * 1024


def rel(*parts):
    return os.path.join(ROOT, *parts)


def files(*patterns):
    out = []
    for p in patterns:
        out += [f for f in glob.glob(rel(p), recursive=True) if os.path.isfile(f)]
    return sorted(set(out))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def rust_strings(path):
    """String literals of a Rust file: raw strings and ordinary ones with their escapes."""
    src = read(path).decode("utf-8", "replace")
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "/" and src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
            continue
        if c == "'" and i + 2 < n and (src[i + 2] == "'" or src[i + 1] == "\\"):
            # a char literal: skip it so that '"' does not open a string
            j = src.find("'", i + 2)
            i = j + 1 if j > 0 and j - i <= 12 else i + 1
            continue
        m = re.match(r'b?r(#*)"', src[i:i + 40])
        if m and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            hashes = m.group(1)
            start = i + m.end()
            end = src.find('"' + hashes, start)
            if end < 0:
                break
            out.append(src[start:end])
            i = end + 1 + len(hashes)
            continue
        if c == '"':
            j = i + 1
            buf = []
            while j < n and src[j] != '"':
                if src[j] == "\\" and j + 1 < n:
                    e = src[j + 1]
                    if e == "n":
                        buf.append("\n")
                    elif e == "t":
                        buf.append("\t")
                    elif e == "r":
                        buf.append("\r")
                    elif e == "0":
                        buf.append("\0")
                    elif e == "\n":
                        j += 2
                        while j < n and src[j] in " \t\n":
                            j += 1
                        continue
                    elif e == "u":
                        m2 = re.match(r"u\{([0-9a-fA-F]+)\}", src[j + 1:j + 12])
                        if m2:
                            buf.append(chr(int(m2.group(1), 16)))
                            j += 1 + m2.end()
                            continue
                        buf.append(e)
                    elif e == "x":
                        buf.append(chr(int(src[j + 2:j + 4], 16)))
                        j += 4
                        continue
                    else:
                        buf.append(e)
                    j += 2
                    continue
                buf.append(src[j])
                j += 1
            out.append("".join(buf))
            i = j + 1
            continue
        i += 1
    return out


def strings_of(patterns, keep):
    out = []
    for f in files(*patterns):
        out += [s.encode() for s in rust_strings(f) if keep(s)]
    return out


def body_of(md):
    text = md.decode("utf-8", "replace")
    if text.startswith("---"):
        parts = text.split("\n---", 2)
        if len(parts) >= 2:
            return parts[-1].split("\n", 1)[-1].encode()
    return md


def write(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.remove(os.path.join(d, old))
    kept = 0
    for s in seeds:
        if not s or len(s) > MAX_SEED:
            continue
        name = hashlib.sha1(s).hexdigest()[:16]
        with open(os.path.join(d, name), "wb") as f:
            f.write(s)
        kept += 1
    print(f"{target}: {len(os.listdir(d))} seeds")


markdown_files = files(
    "content/**/*.md", "library/raw/*/*.md", "tests/fixtures/**/*.md",
    "src/commands/demo/story/**/*.md", "README.md", "docs/**/*.md",
)
yaml_files = files(
    "tests/fixtures/**/*.yaml", "src/commands/demo/story/**/*.yaml",
    "src/commands/demo/story/**/*.yml", "src/commands/demo/story/clinic.yaml",
)
artifacts = files("library/raw/*/*.md")
looks_sql = re.compile(r"\b(CREATE|ALTER|DROP|UPDATE|INSERT|DELETE|SELECT|BEGIN|COMMIT|INDEX|TABLE)\b", re.I)
looks_shell = re.compile(r"(curl|wget|http|smoke|check_|\bset -|\bif \[|\bexit\b|\|\||&&|bash|#!)")
looks_workflow = re.compile(r"(jobs:|steps:|runs-on:|on:)")

fm_test_strings = strings_of(
    ["src/load/frontmatter.rs", "src/load/yaml.rs", "src/load/content.rs", "src/load/config.rs"],
    lambda s: ":" in s or s.startswith("---"))
write("front_matter", [read(f) for f in markdown_files + yaml_files] + fm_test_strings)

md_test_strings = strings_of(
    ["src/render/markdown.rs", "src/render/html.rs", "src/portfolio/*.rs", "tests/hardening_content.rs"],
    lambda s: len(s) > 3)
write("markdown", [body_of(read(f)) for f in markdown_files] + md_test_strings)

art_test_strings = strings_of(
    ["src/evidence/*.rs", "src/evidence/smoke/*.rs", "tests/evidence.rs", "tests/hardening_input.rs"],
    lambda s: s.startswith("---"))
write("artifact", [read(f) for f in artifacts] + art_test_strings)

roster_strings = strings_of(
    ["src/commands/cohort/*.rs", "tests/cohort.rs", "src/commands/cli.rs", "tests/hardening_input.rs"],
    lambda s: "students" in s or "name:" in s or "policy" in s)
write("roster", roster_strings)

sql_strings = strings_of(
    ["src/evidence/readers/sql/**/*.rs", "src/evidence/migration.rs", "tests/evidence.rs"],
    lambda s: bool(looks_sql.search(s)) and ";" in s or s.strip().upper().startswith(("CREATE", "ALTER", "DROP", "UPDATE")))
write("sql", [read(f) for f in files("src/commands/demo/story/db/*.sql")] + sql_strings)

shell_strings = strings_of(
    ["src/evidence/readers/shell/**/*.rs", "src/evidence/smoke/*.rs", "tests/smoke_gate.rs"],
    lambda s: "\n" in s or bool(looks_shell.search(s)))
shell_files = [read(f) for f in files("src/commands/demo/story/**/*.sh")]
write("shell_smoke", shell_files + shell_strings)

wf_strings = strings_of(
    ["src/evidence/readers/workflow/**/*.rs", "src/evidence/smoke/*.rs", "tests/smoke_gate.rs", "tests/evidence.rs"],
    lambda s: bool(looks_workflow.search(s)))
wf_files = [read(f) for f in files("src/commands/demo/story/workflows/*.yml")]
write("workflow", wf_files + wf_strings)

# A step's `run:`: the shell strings and every `run:` block of the workflow examples, each
# behind a flag byte (errexit / pipefail / working directory).
runs = []
for wf in wf_files + wf_strings:
    text = wf.decode("utf-8", "replace")
    for m in re.finditer(r"run:\s*\|?\s*\n((?:[ \t]+.*\n?)+)|run:\s*(\S.*)", text):
        block = m.group(1) or m.group(2) or ""
        lines = block.splitlines()
        indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
        runs.append("\n".join(l[indent:] for l in lines).encode())
step_seeds = []
for i, s in enumerate(runs + shell_files + shell_strings):
    step_seeds.append(bytes([i % 16]) + s)
write("shell_step", step_seeds)
