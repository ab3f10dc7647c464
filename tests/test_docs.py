"""The documentation stands on its own: a short README that opens with the set-up commands,
relative links (and their anchors) that resolve, "§" references in docs, code, app text and
CLI help that name sections of docs/protocol.md, and no development-process words in the text
users read."""
import ast
import pathlib
import re

import pytest

from qml_core.cli.main import make_parser

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "protocol.md"
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CODE = sorted([ROOT / "app.py", *[p for d in ("qml_core", "pages", "lab_ui", "benchmarks", "examples")
                                  for p in (ROOT / d).rglob("*.py")]])
SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)(?:\s*[–-]\s*§?\s*(\d+(?:\.\d+)*))?")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PROCESS_WORDS = re.compile(r"(?i:\bissues? \d+|\bthis session\b)|\bPROTOCOL\b")  # PROTOCOL: a file that never existed


def cli_help() -> str:
    """The top-level help and every subcommand's."""
    parser = make_parser()
    [commands] = [a for a in parser._actions if getattr(a, "choices", None) and isinstance(a.choices, dict)]
    return "\n".join([parser.format_help(), *(sub.format_help() for sub in commands.choices.values())])


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation (§ included) dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def headings(path: pathlib.Path) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^#{1,6} (.+)$", prose(path.read_text()), re.MULTILINE)]


def prose(text: str) -> str:
    """Markdown without fenced code blocks (commands, diagrams) or inline code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def protocol_sections() -> set[str]:
    return {m.group(1) for h in headings(PROTOCOL) if (m := re.match(r"§(\d+(?:\.\d+)*) ", h))}


def references(text: str) -> list[str]:
    """Every section a text cites; a range such as §2–5 cites each section in it."""
    out = []
    for first, last in SECTION.findall(text):
        out.append(first)
        if last:
            out.append(last)
            if "." not in first + last:
                out += [str(n) for n in range(int(first) + 1, int(last))]
    return out


def test_readme_is_short_and_opens_with_the_two_set_up_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, len(lines)
    assert lines[0].startswith("# ") and lines[2] == "```bash"
    assert lines[3].startswith("pip install -r requirements.txt && streamlit run app.py")
    assert lines[4].startswith("pip install -r requirements-dev.txt && python -m pytest -q")


def test_protocol_numbers_its_sections():
    assert {"1", "1.1", "1.2", "2", "3", "3.3", "4", "5", "6", "7"} <= protocol_sections()


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_anchors_resolve(path):
    dangling = []
    for target in LINK.findall(prose(path.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        resolved = (path.parent / file).resolve() if file else path
        if not resolved.exists():
            dangling.append(target)
        elif anchor and (resolved.suffix != ".md" or anchor not in {slug(h) for h in headings(resolved)}):
            dangling.append(target)
    assert not dangling, dangling


def test_section_references_resolve():
    sources = {p.relative_to(ROOT).as_posix(): p.read_text() for p in MARKDOWN + CODE}
    sources["python -m qml_core ... --help"] = cli_help()
    known = protocol_sections()
    dangling = {name: sorted(set(refs) - known) for name, text in sources.items()
                if set(refs := references(text)) - known}
    assert not dangling, dangling
    assert sum(len(references(text)) for text in sources.values()) > 50  # the scan sees the references


def test_a_dangling_reference_or_link_is_caught(tmp_path):
    assert set(references("see protocol §9.4 and §2–5")) - protocol_sections() == {"9.4"}
    assert references("§2–5") == ["2", "5", "3", "4"]
    page = tmp_path / "page.md"
    page.write_text("[a](missing.md) `[b](in-code.md)` [c](page.md#nowhere)\n# Here\n[d](#here)")
    assert LINK.findall(prose(page.read_text())) == ["missing.md", "page.md#nowhere", "#here"]
    assert headings(page) == ["Here"] and slug("§1.2 XXZ ground states (quantum data)") == "12-xxz-ground-states-quantum-data"


def shown_strings(path: pathlib.Path) -> str:
    """The string literals of an app source file that can reach the screen: every one but the
    docstrings (comments are not strings)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return "\n".join(node.value for node in ast.walk(tree)
                     if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings)


def test_user_facing_text_has_no_development_process_words():
    texts = {p.relative_to(ROOT).as_posix(): p.read_text() for p in MARKDOWN}
    texts.update({p.relative_to(ROOT).as_posix(): shown_strings(p)
                  for p in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "lab_ui").glob("*.py"))]})
    texts["python -m qml_core ... --help"] = cli_help()
    found = {name: PROCESS_WORDS.findall(text) for name, text in texts.items() if PROCESS_WORDS.search(text)}
    assert not found, found
