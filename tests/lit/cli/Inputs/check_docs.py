#!/usr/bin/env python3
"""Checks README.md and docs/*.md against the CLI, so that they cannot drift apart:

  * every command that `heed --help` lists appears in README's command table;
  * every `heed CMD ... --flag` written in the docs (in a code block, where indented
    lines and lines ending in a backslash continue the command, or in one `code span`)
    names a command that exists and a flag that `heed CMD --help` lists;
  * every --flag written anywhere else in the docs is a flag of some heed command, or
    of another tool listed in FOREIGN below;
  * the stages that the docs list for `heed emit --stage` are exactly those of
    `heed emit --help`.

Usage: check_docs.py HEED SOURCE_DIR. Prints one line per problem and exits 1 if any."""
import glob
import os
import re
import subprocess
import sys

# Flags of other tools that the docs show (cmake, ctest, lit, mpirun, pip, scripts).
FOREIGN = {
    "--allow-run-as-root", "--output-on-failure", "--test-dir", "--gtest_filter", "--timeout",
    "--no-install-recommends", "--param", "--as", "--oversubscribe", "--bind-to", "--help",
    "--version", "--index-url", "--extra-index-url", "--break-system-packages", "--print-ir-after-all",
    "--dump-input", "--check-prefix", "--filter", "--verbose", "--no-cache-dir", "--quiet",
    "--write", "--pass-pipeline", "--cpu-time", "--model", "--autocast",
    "--target", "--expect-loss", "--min-count",  # bench/lm_word_costs.py
}

heed, src = sys.argv[1], sys.argv[2]
problems = []


def run(*args):
    return subprocess.run([heed, *args], capture_output=True, text=True, check=True).stdout


def flags_of(help_text):
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text.split("Options:", 1)[-1]))


main_help = run("--help")
commands = re.findall(r"^  ([a-z]+)  ", main_help.split("Subcommands:", 1)[1], re.M)
flags = {c: flags_of(run(c, "--help")) for c in commands}
all_flags = set().union(*flags.values())
stages = set(re.search(r"--stage TEXT REQUIRED\s+(.*)", run("emit", "--help")).group(1).split(" | "))

docs = [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md")))
readme = open(docs[0]).read()
for c in commands:
    if not re.search(r"^heed %s\b" % c, readme, re.M):
        problems.append("README.md: the command table has no 'heed %s'" % c)


invocations = 0


def check_invocation(where, text):
    """One `heed CMD ...` invocation: CMD exists, its --flags are CMD's."""
    global invocations
    invocations += 1
    m = re.match(r"heed (?:\[[^]]*\] )?([a-z][a-z-]*)", text)
    if not m or m.group(1) not in flags:
        problems.append("%s: '%s' is not a heed command" % (where, text.split()[1] if len(text.split()) > 1 else text))
        return
    cmd = m.group(1)
    for f in re.findall(r"(?<![\w/-])(--[a-z][\w-]*)", text):
        if f not in flags[cmd]:
            problems.append("%s: heed %s has no flag %s" % (where, cmd, f))
    if cmd == "emit":
        for s in re.findall(r"--stage[ =]([\w-]+)", text):
            if s != "S" and s not in stages:
                problems.append("%s: heed emit has no stage '%s'" % (where, s))


def loose_flags(line):
    """The --flags of a line that is not a diagram ("model.heed --frontend--> ...")."""
    if "-->" in line or "--|" in line:
        return []
    return re.findall(r"(?<![\w/-])(--[a-z][\w-]*)(?![\w>-])", line)


for path in docs:
    name = os.path.relpath(path, src)
    in_block = False
    current = None  # (line number, text) of the heed command being continued in a block
    seen = set()  # flag mentions that belong to an invocation
    lines = open(path).read().split("\n")
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            if current:
                check_invocation("%s:%d" % (name, current[0]), current[1])
            in_block, current = not in_block, None
            continue
        if in_block:
            body = re.sub(r"\s#\s.*$", "", line)  # shell comments
            # A line of output (a diagnostic) is no command line, whatever it says.
            output = re.match(r"\s*(error|warning|note):", body)
            m = not output and re.search(r"(?:^|\$ |[|;&(]\s*|^\s*(?:\w+=\S+\s+)*|mpirun .*?)(heed (?:[a-z][a-z-]*).*)$", body)
            starts = m and re.match(r"heed [a-z]", m.group(1)) and not line.startswith((" ", "\t"))
            if m and (starts or re.search(r"^\s*(\$ |[A-Z_]+=\S* )*heed [a-z]", body) or "mpirun" in body):
                if current:
                    check_invocation("%s:%d" % (name, current[0]), current[1])
                current = (i, m.group(1).rstrip("\\ "))
            elif current and (line.startswith((" ", "\t")) or lines[i - 2].rstrip().endswith("\\")):
                current = (current[0], current[1] + " " + body.strip().rstrip("\\"))
            elif current:
                check_invocation("%s:%d" % (name, current[0]), current[1])
                current = None
            for f in loose_flags(body):
                if f not in all_flags and f not in FOREIGN:
                    problems.append("%s:%d: %s is no flag of any heed command" % (name, i, f))
            continue
        for span in re.findall(r"`([^`]+)`", line):
            if re.match(r"heed [a-z]", span):
                check_invocation("%s:%d" % (name, i), span)
        for f in loose_flags(line):
            if f not in all_flags and f not in FOREIGN:
                problems.append("%s:%d: %s is no flag of any heed command" % (name, i, f))
        # A list of emit stages in prose or the command table: "ast, graph, ..., obj".
        if re.search(r"\bast, graph\b", line):
            listed = lines[i - 1]
            j = i
            while not listed.rstrip().endswith(("obj", "obj.", "obj)", "obj`")) and j < len(lines):
                listed += " " + lines[j]
                j += 1
            words = re.search(r"\bast, graph.*?\bobj\b", listed)
            got = set(w.strip(" `") for w in words.group(0).replace(" and ", ", ").split(",")) if words else set()
            if got != stages:
                problems.append("%s:%d: the emit stages listed (%s) are not heed emit's (%s)"
                                % (name, i, ", ".join(sorted(got)), ", ".join(sorted(stages))))

for p in problems:
    print(p)
print("checked %d commands and %d invocations in %d files: %d problems"
      % (len(commands), invocations, len(docs), len(problems)))
sys.exit(1 if problems else 0)
