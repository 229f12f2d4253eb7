#!/usr/bin/env python3
"""Checks the size limits of hokan's sources (tests excluded).

    python3 scripts/check_code_size.py [--max-file-lines N] [--max-function-lines N]

Every .cc/.h outside tests/ and build directories must have at most 500 lines,
and every function body (a top-level or member function definition, counted
from the first line of its declaration to its closing brace, lambdas inside
included) at most 80. Prints each offender as path:line and exits 1 if any.
The parser is a brace counter that ignores string and character literals and
// comments; it is meant for this code base's style, not for C++ at large.
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP_DIRS = {"tests", "build", "var", "node_modules", ".git"}


def sources():
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        top = rel.split(os.sep)[0]
        if top in SKIP_DIRS or top.startswith("build"):
            dirs[:] = []
            continue
        for name in files:
            if name.endswith((".cc", ".h")):
                yield os.path.relpath(os.path.join(folder, name), ROOT)


def code_of(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//")[0]


def declaration_start(lines, index):
    """The first line of the declaration whose body opens on lines[index]."""
    while index > 0:
        previous = lines[index - 1].strip()
        if not previous or previous.startswith(("//", "#", "}", "template")) or previous.endswith((";", "{", "}")):
            break
        index -= 1
    return index


def long_functions(lines, limit):
    stack = []  # (kind, first line index)
    for number, raw in enumerate(lines):
        code = code_of(raw)
        for char in code:
            if char == "{":
                if re.match(r"\s*(namespace|extern)\b", code):
                    kind = "namespace"
                elif re.match(r"\s*(class|struct|enum|union)\b", code) and "(" not in code:
                    kind = "type"
                else:
                    kind = "function"
                inside_function = any(k == "function" for k, _ in stack)
                if kind == "function" and not inside_function:
                    # A brace initializer of a constant (no parameter list) is data.
                    declaration = " ".join(lines[declaration_start(lines, number):number + 1])
                    if "(" not in code_of(declaration).split("{")[0]:
                        kind = "data"
                start = declaration_start(lines, number) if kind == "function" and not inside_function else number
                stack.append((kind, start))
            elif char == "}" and stack:
                kind, start = stack.pop()
                if kind == "function" and not any(k == "function" for k, _ in stack):
                    length = number - start + 1
                    if length > limit:
                        yield start + 1, length, lines[start].strip()[:80]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-file-lines", type=int, default=500)
    parser.add_argument("--max-function-lines", type=int, default=80)
    options = parser.parse_args()
    problems = []
    for path in sorted(sources()):
        with open(os.path.join(ROOT, path), encoding="utf-8") as source:
            lines = source.read().split("\n")
        if len(lines) > options.max_file_lines:
            problems.append(f"{path}: {len(lines)} lines (limit {options.max_file_lines})")
        for line, length, text in long_functions(lines, options.max_function_lines):
            problems.append(f"{path}:{line}: function of {length} lines (limit "
                            f"{options.max_function_lines}): {text}")
    for problem in problems:
        print(problem)
    if problems:
        print(f"check_code_size: {len(problems)} over the limits: split them by concern", file=sys.stderr)
        return 1
    print("check_code_size: every file and function within the limits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
