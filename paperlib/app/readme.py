"""The README's generated blocks: markers, refresh and check (docs/decisions/reporting.md §9).

A block sits between ``<!-- generated:NAME -->`` and ``<!-- /generated:NAME -->``; its text is
``paperlib.studies.summaries.render(NAME, figures)``. :func:`check` fails when a block differs from
what the committed tables give (a table changed and the README was not regenerated), when a number
in a block is not found, at its written rounding and unit, in a table the block cites, or when a
difference of shares is written in percent instead of percentage points.

``python -m paperlib.app.readme --check`` checks README.md against ``figures/``; ``--write``
refreshes it; ``--out FILE`` writes the blocks alone (what ``make reproduce`` does at every profile
but the committed one).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from ..infra import config
from ..studies import summaries
from ..studies.number_sources import unsourced_numbers

README = config.REPO_ROOT / "README.md"
FIGURES = config.REPO_ROOT / "figures"
BLOCKS_FILE = "README-blocks.md"
_BLOCK = re.compile(r"<!-- generated:(?P<name>[\w-]+) -->\n(?P<body>.*?)\n?<!-- /generated:(?P=name) -->",
                    re.S)
_SIGNED_PERCENT = re.compile(r"[+−]\d[\d.,]*\s?%")


def markers(name: str) -> tuple[str, str]:
    """The opening and closing marker of block ``name``."""
    return f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of a README text: name -> body."""
    return {m["name"]: m["body"] for m in _BLOCK.finditer(text)}


def refresh(text: str, figures: Path = FIGURES) -> str:
    """``text`` with every generated block rewritten from the tables in ``figures``."""
    def one(m: re.Match) -> str:
        begin, end = markers(m["name"])
        return f"{begin}\n{summaries.render(m['name'], figures)}\n{end}"
    return _BLOCK.sub(one, text)


def cited_tables(body: str) -> list[str]:
    """The tables a block cites (``figures/<name>.csv``)."""
    return re.findall(r"figures/([\w-]+)\.csv", body)


def problems(text: str, figures: Path = FIGURES) -> list[str]:
    """What is wrong with the generated blocks of a README ``text``, one line each; [] if none."""
    found = blocks(text)
    out = [f"README has no generated block {n!r}: add its markers {markers(n)}"
           for n in summaries.SUMMARIES if n not in found]
    for name, body in found.items():
        if name not in summaries.SUMMARIES:
            out.append(f"block {name!r}: no such summary (paperlib.studies.summaries.SUMMARIES)")
            continue
        for bad in _SIGNED_PERCENT.findall(body):
            out.append(f"block {name!r}: {bad!r} is a difference written in percent; write "
                       "percentage points (paperlib.studies.numbers.points)")
        sources = cited_tables(body)
        if not sources:
            out.append(f"block {name!r} cites no table (figures/<name>.csv)")
        tables = [pd.read_csv(Path(figures) / f"{s}.csv") for s in sources
                  if (Path(figures) / f"{s}.csv").is_file()]
        for number in unsourced_numbers(body, tables):
            out.append(f"block {name!r}: {number!r} is in none of the tables it cites "
                       f"({', '.join(sources)})")
        if body != summaries.render(name, figures):
            out.append(f"block {name!r} differs from its tables: regenerate it with "
                       "`python -m paperlib.app.readme --write`")
    return out


def _render_or_note(name: str, figures: Path) -> str:
    try:
        return summaries.render(name, figures)
    except FileNotFoundError as e:
        return f"(not generated: {e})"


def all_blocks(figures: Path = FIGURES) -> str:
    """Every generated block with its markers, as one Markdown file; a block whose table this
    run did not write says so instead of failing the run."""
    return "\n\n".join("\n".join([markers(n)[0], _render_or_note(n, figures), markers(n)[1]])
                       for n in summaries.SUMMARIES) + "\n"


def publish(profile: str, figures: Path, results: Path | None = None,
            readme: Path = README) -> Path:
    """After a reproduce: the committed profile refreshes README.md in place; any other profile
    writes its blocks to ``<results>/<profile>/README-blocks.md`` and leaves README.md alone."""
    if profile == config.COMMITTED_PROFILE:
        readme.write_text(refresh(readme.read_text(encoding="utf-8"), figures), encoding="utf-8")
        return readme
    out = Path(results or config.results_dir()) / profile / BLOCKS_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(all_blocks(figures), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperlib.app.readme", description=__doc__)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--check", action="store_true", help="check README.md against the tables")
    what.add_argument("--write", action="store_true", help="refresh README.md's blocks")
    what.add_argument("--out", type=Path, help="write the blocks alone to this file")
    parser.add_argument("--figures", type=Path, default=FIGURES, help="folder of the tables")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    if args.out:
        args.out.write_text(all_blocks(args.figures), encoding="utf-8")
        return 0
    text = args.readme.read_text(encoding="utf-8")
    if args.write:
        args.readme.write_text(refresh(text, args.figures), encoding="utf-8")
        return 0
    found = problems(text, args.figures)
    print("\n".join(found) or f"{args.readme}: every generated block matches {args.figures}/")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

__all__ = ["README", "FIGURES", "BLOCKS_FILE", "markers", "blocks", "refresh", "cited_tables",
           "unsourced_numbers", "problems", "all_blocks", "publish", "main"]
