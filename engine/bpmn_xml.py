"""Hardened reading of BPMN and DMN files, and validation against the OMG schemas.

Every definition file (written by a designer or exported by another modeling tool)
passes through here before the engine parses it. Whatever the input, the result is
a tree or a list of :class:`~engine.errors.Problem`, never an exception:

======================  ====================================================
code                    meaning
======================  ====================================================
``FILE_UNREADABLE``     the file cannot be opened or is not a regular file
``FILE_TOO_LARGE``      more than :data:`MAX_FILE_BYTES`; refused unread
``XML_DTD_FORBIDDEN``   the document has a DOCTYPE (DTDs and entities are off)
``XML_TOO_DEEP``        elements nested deeper than :data:`MAX_DEPTH`
``XML_MALFORMED``       not well-formed XML
``NOT_BPMN``            the root is neither BPMN 2.0 nor DMN 1.1-1.3 definitions
``XSD_INVALID``         the document breaks the OMG schema
======================  ====================================================

Reading is done in two passes over the bytes. The first pass feeds the document
to a parser target that only listens for a DOCTYPE and stops the parser the moment
one is announced, before its internal subset (and so any entity declaration) is
read: no entity is ever declared, expanded or fetched. Only documents without a
DOCTYPE reach the second pass, which builds the tree with a parser that would not
load a DTD, resolve an entity or use the network even if asked to.

The XSDs are the ones shipped inside the installed SpiffWorkflow package. They are
read through :mod:`importlib.resources` and compiled once, by a parser whose only
resolver serves those files from memory and refuses every other address.
"""

from __future__ import annotations

import importlib.resources
import os
import pathlib
import re
import stat
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from lxml import etree

from engine.errors import Problem

__all__ = [
    "BPMN_NS",
    "BPMN_SUFFIXES",
    "DMN_NAMESPACES",
    "DMN_SUFFIXES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "definition_stem",
    "element_line",
    "is_bpmn_file",
    "is_dmn_file",
    "parse_xml",
    "read_definition",
    "schema_problems",
]

BPMN_SUFFIXES: Final = (".bpmn", ".bpmn20.xml")
"""How BPMN files are named: Camunda Modeler writes ``.bpmn``, Flowable and Activiti ``.bpmn20.xml``."""

DMN_SUFFIXES: Final = (".dmn", ".dmn11.xml")
"""How DMN files are named (Camunda 7 also reads ``.dmn11.xml``)."""


def is_bpmn_file(name: str) -> bool:
    return name.lower().endswith(BPMN_SUFFIXES)


def is_dmn_file(name: str) -> bool:
    return name.lower().endswith(DMN_SUFFIXES)


def definition_stem(name: str) -> str:
    """A definition file's name without its folder and its BPMN or DMN suffix: ``invoice.bpmn20.xml`` → ``invoice``."""
    base = name.rsplit("/", 1)[-1]
    for suffix in BPMN_SUFFIXES + DMN_SUFFIXES:
        if base.lower().endswith(suffix):
            return base[: -len(suffix)]
    return base.rsplit(".", 1)[0]


MAX_FILE_BYTES = 10 * 1024 * 1024
"""Larger files are refused unread (``FILE_TOO_LARGE``)."""

MAX_DEPTH = 256
"""Deeper element nesting is refused (``XML_TOO_DEEP``); the root is at depth 1."""

MAX_SCHEMA_PROBLEMS: Final = 200
"""At most this many ``XSD_INVALID`` problems per file, then one summary problem."""

BPMN_NS: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"

DMN_NAMESPACES: Final[Mapping[str, str]] = {
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "DMN.xsd",  # DMN 1.1
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "DMN12.xsd",  # DMN 1.2
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "DMN13.xsd",  # DMN 1.3
}
"""Root namespace of each DMN version accepted, and the XSD that validates it."""

# libxml2 without XML_PARSE_HUGE (huge_tree=False) stops at this depth by itself.
_LIBXML2_MAX_DEPTH: Final = 256
_MAX_MESSAGE_CHARS: Final = 400
_MAX_EXPECTED_NAMES: Final = 6

# Prefixes used in messages instead of lxml's ``{namespace-uri}`` Clark notation.
_KNOWN_PREFIXES: Final[Mapping[str, str]] = {
    BPMN_NS: "bpmn",
    "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
    "http://www.omg.org/spec/DD/20100524/DC": "dc",
    "http://www.omg.org/spec/DD/20100524/DI": "di",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd": "dmn",
    "http://www.omg.org/spec/DMN/20180521/MODEL/": "dmn",
    "https://www.omg.org/spec/DMN/20191111/MODEL/": "dmn",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/": "dmndi",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/": "dmndi",
    "http://www.omg.org/spec/DMN/20180521/DC/": "dc",
    "http://www.omg.org/spec/DMN/20180521/DI/": "di",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/2001/XMLSchema": "xsd",
    "http://www.w3.org/XML/1998/namespace": "xml",
}

_CLARK_RE: Final = re.compile(r"\{([^{}]*)\}")
_EXPECTED_RE: Final = re.compile(r"Expected is one of \( (?P<names>[^()]*) \)")


def element_line(el: etree._Element) -> int:
    """The line ``el`` started on in its source file, or 0 when unknown."""
    line = el.sourceline
    return line if isinstance(line, int) and line > 0 else 0


# --------------------------------------------------------------------------- reading


def _hardened_parser() -> etree.XMLParser:
    """A parser that never loads a DTD, resolves an entity or touches the network."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )
    parser.resolvers.add(_RefuseAll())
    return parser


class _RefuseAll(etree.Resolver):
    """Resolver of last resort: no external resource may be loaded while reading."""

    def resolve(self, system_url: str, public_id: str, context: object) -> None:  # type: ignore[override]
        raise _ExternalLoadRefused(system_url)


class _ExternalLoadRefused(Exception):
    pass


class _DoctypeSeen(Exception):
    """Raised from inside the parser to stop it at a DOCTYPE declaration."""


class _DoctypeGuard:
    """Parser target that only listens for a DOCTYPE; everything else is dropped.

    libxml2 announces ``<!DOCTYPE name ...`` before it reads the internal subset; the
    exception raised here makes lxml stop the parser on the spot.
    """

    def doctype(
        self, name: str | None, pubid: str | None, system_url: str | None
    ) -> None:
        raise _DoctypeSeen()

    def close(self) -> None:
        return None


def _guard_parser() -> etree.XMLParser:
    return etree.XMLParser(
        # The stubs' ParserTarget also wants start/end/data/comment; leaving them out
        # is what keeps lxml from calling back into Python for every node.
        target=_DoctypeGuard(),  # type: ignore[arg-type]
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def _short(message: str) -> str:
    message = " ".join(message.split())
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[: _MAX_MESSAGE_CHARS - 3].rstrip() + "..."
    return message


def _doctype_line(data: bytes) -> int:
    """Best-effort line of the DOCTYPE, for the report only (detection is lxml's)."""
    at = data.find(b"<!DOCTYPE")
    return data.count(b"\n", 0, at) + 1 if at >= 0 else 1


def _dtd_forbidden(data: bytes, filename: str) -> Problem:
    return Problem(
        filename,
        _doctype_line(data),
        "XML_DTD_FORBIDDEN",
        "DTDs and entities are not allowed",
    )


def _too_deep(filename: str, line: int, limit: int) -> Problem:
    return Problem(
        filename,
        line,
        "XML_TOO_DEEP",
        f"elements are nested deeper than {limit} levels",
    )


@dataclass(frozen=True, slots=True)
class _LogEntry:
    level: int
    type: int
    line: int
    message: str


def _log_entries(log: object) -> list[_LogEntry]:
    """The entries of an lxml error log, as plain typed values."""
    entries: list[_LogEntry] = []
    for entry in cast("Iterable[Any]", log):
        entries.append(
            _LogEntry(
                int(entry.level),
                int(entry.type),
                max(int(entry.line or 0), 0),
                str(entry.message or ""),
            )
        )
    return entries


def _syntax_problem(parser: etree.XMLParser, exc: Exception, filename: str) -> Problem:
    """Turn a parse failure into XML_MALFORMED (or XML_TOO_DEEP), with lxml's line and message."""
    line = 0
    message = ""
    for entry in _log_entries(parser.error_log):
        if entry.level >= int(etree.ErrorLevels.ERROR):
            line, message = entry.line, entry.message
            if (
                entry.type == int(etree.ErrorTypes.ERR_RESOURCE_LIMIT)
                and "depth" in message.lower()
            ):
                return _too_deep(filename, line, min(MAX_DEPTH, _LIBXML2_MAX_DEPTH))
            break
    if not message:
        line = getattr(exc, "lineno", None) or 0
        message = str(getattr(exc, "msg", None) or exc) or type(exc).__name__
        message = re.sub(r", line \d+, column \d+$", "", message)
    return Problem(filename, max(line, 0), "XML_MALFORMED", _short(message))


def _first_too_deep(root: etree._Element, limit: int) -> etree._Element | None:
    """The first element deeper than ``limit`` (root = depth 1), found without recursion."""
    depth = 0
    for event, el in etree.iterwalk(root, events=("start", "end"), tag=etree.Element):
        if event == "start":
            depth += 1
            if depth > limit and isinstance(el, etree._Element):
                return el
        else:
            depth -= 1
    return None


def parse_xml(
    data: bytes, filename: str
) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Parse ``data`` safely; returns ``(tree, [])`` or ``(None, [problem])``.

    Refuses files over :data:`MAX_FILE_BYTES` (``FILE_TOO_LARGE``), any DOCTYPE
    (``XML_DTD_FORBIDDEN``), nesting deeper than :data:`MAX_DEPTH` (``XML_TOO_DEEP``)
    and anything that is not well-formed (``XML_MALFORMED``).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        return None, [
            Problem(
                filename,
                0,
                "XML_MALFORMED",
                f"expected bytes, got {type(data).__name__}",
            )
        ]
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        return None, [
            Problem(
                filename,
                0,
                "FILE_TOO_LARGE",
                f"{len(data)} bytes is more than the limit of {MAX_FILE_BYTES} bytes",
            )
        ]

    # Pass 1: stop at any DOCTYPE before its declarations are read.
    guard = _guard_parser()
    try:
        etree.fromstring(data, guard)
    except _DoctypeSeen:
        return None, [_dtd_forbidden(data, filename)]
    except (etree.LxmlError, ValueError, LookupError) as exc:
        return None, [_syntax_problem(guard, exc, filename)]

    # Pass 2: build the tree; no DOCTYPE is left to honour, and none would be.
    parser = _hardened_parser()
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError, LookupError, _ExternalLoadRefused) as exc:
        return None, [_syntax_problem(parser, exc, filename)]
    if not isinstance(root, etree._Element):
        return None, [Problem(filename, 0, "XML_MALFORMED", "no root element")]
    tree = root.getroottree()
    docinfo = tree.docinfo
    doctype: str = getattr(docinfo, "doctype", "")
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return None, [_dtd_forbidden(data, filename)]

    deep = _first_too_deep(root, MAX_DEPTH)
    if deep is not None:
        return None, [_too_deep(filename, element_line(deep), MAX_DEPTH)]
    return tree, []


def read_bytes(path: pathlib.Path, name: str) -> tuple[bytes | None, list[Problem]]:
    """The content of a regular file of at most :data:`MAX_FILE_BYTES`, or why not."""
    limit = MAX_FILE_BYTES
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return None, [Problem(name, 0, "FILE_UNREADABLE", "not a regular file")]
        if info.st_size > limit:
            return None, [
                Problem(
                    name,
                    0,
                    "FILE_TOO_LARGE",
                    f"{info.st_size} bytes is more than the limit of {limit} bytes",
                )
            ]
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except (OSError, ValueError) as exc:
        reason = (
            exc.strerror
            if isinstance(exc, OSError) and exc.strerror
            else type(exc).__name__
        )
        return None, [
            Problem(name, 0, "FILE_UNREADABLE", f"cannot read file: {reason}")
        ]
    if len(data) > limit:
        return None, [
            Problem(name, 0, "FILE_TOO_LARGE", f"more than the limit of {limit} bytes")
        ]

    return data, []


def read_definition(
    path: pathlib.Path, display_name: str | None = None
) -> tuple[etree._ElementTree | None, list[Problem]]:
    """Read, parse and schema-check one definition file.

    Problems name the file as ``display_name`` (or ``str(path)``). Never reads more
    than :data:`MAX_FILE_BYTES` + 1 bytes.
    """
    name = display_name or str(path)
    data, problems = read_bytes(path, name)
    if data is None:
        return None, problems
    tree, problems = parse_xml(data, name)
    if tree is None:
        return None, problems
    return tree, schema_problems(tree, name)


# --------------------------------------------------------------------------- schemas

_SCHEMA_SCHEME: Final = "cityflow-xsd:/"
_XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"


@dataclass(frozen=True, slots=True)
class _SchemaSource:
    package: str  # the package whose ``schema/`` folder holds the XSDs
    entry: str  # the XSD to compile; its imports are resolved next to it


_SCHEMA_SOURCES: Final[Mapping[str, _SchemaSource]] = {
    BPMN_NS: _SchemaSource("SpiffWorkflow.bpmn.parser", "BPMN20.xsd"),
    **{
        ns: _SchemaSource("SpiffWorkflow.dmn.parser", xsd)
        for ns, xsd in DMN_NAMESPACES.items()
    },
}

# One lock for compiling and for validating: an XMLSchema keeps its error log on
# the object, so two threads must not validate with the same one at once.
_SCHEMA_LOCK: Final = threading.Lock()
_SCHEMAS: dict[str, etree.XMLSchema] = {}


class _PackagedSchemaResolver(etree.Resolver):
    """Serves the XSDs of one package's ``schema/`` folder from memory; refuses the rest."""

    def __init__(self, base: str, files: Mapping[str, bytes]) -> None:
        super().__init__()
        self._base = base
        self._files = files

    def resolve(self, system_url: str, public_id: str, context: object) -> object:  # type: ignore[override]
        name = (
            system_url[len(self._base) :] if system_url.startswith(self._base) else None
        )
        if name is None or name not in self._files:
            raise RuntimeError(
                f"schema loading refused {system_url!r}: not a packaged XSD"
            )
        return self.resolve_string(self._files[name], context, base_url=system_url)


def _packaged_xsds(package: str) -> dict[str, bytes]:
    folder = importlib.resources.files(package).joinpath("schema")
    return {
        item.name: item.read_bytes()
        for item in folder.iterdir()
        if item.name.endswith(".xsd")
    }


def _compile_schema(source: _SchemaSource) -> etree.XMLSchema:
    files = _packaged_xsds(source.package)
    if source.entry not in files:
        raise RuntimeError(
            f"{source.entry} is missing from the installed {source.package} package"
        )
    base = f"{_SCHEMA_SCHEME}{source.package}/"
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(_PackagedSchemaResolver(base, files))
    document = etree.fromstring(
        files[source.entry], parser, base_url=base + source.entry
    )
    _loosen_mismatched_imports(document, files)
    return etree.XMLSchema(document.getroottree())


def _target_namespace(xsd: bytes) -> str | None:
    return etree.fromstring(xsd, _hardened_parser()).get("targetNamespace")


def _loosen_mismatched_imports(
    schema: etree._Element, files: Mapping[str, bytes]
) -> None:
    """Work around an import whose file declares another namespace than promised.

    SpiffWorkflow 3.2.0 ships a ``DMN12.xsd`` that imports the DMN 1.2 DMNDI
    namespace from ``DMNDI12.xsd``, but that file actually holds the DMN 1.2 DI
    namespace, so ``dmndi:DMNDI`` never resolves and the schema does not compile.
    For such an import, each reference into the promised namespace becomes a lax
    wildcard for that namespace: the decision model is still validated in full,
    only its diagram section is not. Correctly packaged imports are left alone.
    """
    for imported in list(schema.iterfind(f"{{{_XSD_NS}}}import")):
        namespace = imported.get("namespace")
        location = imported.get("schemaLocation")
        if namespace is None or location is None or location not in files:
            continue
        if _target_namespace(files[location]) == namespace:
            continue
        for ref in list(schema.iter(f"{{{_XSD_NS}}}element")):
            ref_name = ref.get("ref")
            parent = ref.getparent()
            if not ref_name or parent is None:
                continue
            prefix = ref_name.rpartition(":")[0]
            if ref.nsmap.get(prefix or None) != namespace:
                continue
            wildcard = etree.Element(
                f"{{{_XSD_NS}}}any", namespace=namespace, processContents="lax"
            )
            for occurs in ("minOccurs", "maxOccurs"):
                value = ref.get(occurs)
                if value is not None:
                    wildcard.set(occurs, value)
            parent.replace(ref, wildcard)
        schema.remove(imported)


def _schema_for(namespace: str) -> etree.XMLSchema:
    """The compiled schema for a root namespace; compiled on first use, then cached."""
    schema = _SCHEMAS.get(namespace)
    if schema is None:
        schema = _SCHEMAS[namespace] = _compile_schema(_SCHEMA_SOURCES[namespace])
    return schema


def _prefixes_for(tree: etree._ElementTree) -> dict[str, str]:
    """Prefixes for messages: the file's own (as its author sees them), then well-known ones."""
    prefixes = dict(_KNOWN_PREFIXES)
    declared: dict[str, str] = {}
    for prefix, uri in tree.getroot().nsmap.items():
        if prefix and uri not in declared:
            declared[uri] = prefix
    prefixes.update(declared)
    return prefixes


def _readable(message: str, prefixes: Mapping[str, str]) -> str:
    """Shorten an lxml schema message: ``{uri}name`` -> ``prefix:name``, long lists cut."""

    def clark(match: re.Match[str]) -> str:
        prefix = prefixes.get(match.group(1))
        return f"{prefix}:" if prefix else match.group(0)

    def expected(match: re.Match[str]) -> str:
        names = [n.strip() for n in match.group("names").split(",") if n.strip()]
        if len(names) > _MAX_EXPECTED_NAMES:
            names = [*names[:_MAX_EXPECTED_NAMES], "..."]
        return f"Expected is one of ( {', '.join(names)} )"

    return _short(_EXPECTED_RE.sub(expected, _CLARK_RE.sub(clark, message)))


def _describe(el: etree._Element) -> str:
    qname = etree.QName(el)
    if qname.namespace is None:
        return f"'{qname.localname}' (no namespace)"
    return f"'{qname.localname}' in namespace '{qname.namespace}'"


def schema_problems(tree: etree._ElementTree, filename: str) -> list[Problem]:
    """Validate a parsed BPMN 2.0 or DMN 1.1-1.3 document against its OMG schema.

    One ``XSD_INVALID`` problem per schema error (at most :data:`MAX_SCHEMA_PROBLEMS`,
    then a summary), or ``NOT_BPMN`` when the root is not a definitions element of a
    known namespace.
    """
    root = tree.getroot()
    if not isinstance(root.tag, str):
        return [
            Problem(
                filename,
                element_line(root),
                "NOT_BPMN",
                "the document has no root element",
            )
        ]
    qname = etree.QName(root)
    namespace = qname.namespace or ""
    if qname.localname != "definitions" or namespace not in _SCHEMA_SOURCES:
        return [
            Problem(
                filename,
                element_line(root),
                "NOT_BPMN",
                f"root element is {_describe(root)}; expected BPMN 2.0 or DMN 1.1-1.3 'definitions'",
            )
        ]

    with _SCHEMA_LOCK:
        schema = _schema_for(namespace)
        try:
            valid = schema.validate(tree)
        except etree.LxmlError as exc:  # libxml2 gave up on the document itself
            return [
                Problem(
                    filename,
                    element_line(root),
                    "XSD_INVALID",
                    _short(f"schema validation failed: {exc}"),
                )
            ]
        if valid:
            return []
        errors = [
            (entry.line, entry.message)
            for entry in _log_entries(schema.error_log)
            if entry.level >= int(etree.ErrorLevels.ERROR)
        ]

    prefixes = _prefixes_for(tree)
    problems = [
        Problem(filename, line, "XSD_INVALID", _readable(message, prefixes))
        for line, message in errors[:MAX_SCHEMA_PROBLEMS]
    ]
    if len(errors) > MAX_SCHEMA_PROBLEMS:
        more = len(errors) - MAX_SCHEMA_PROBLEMS
        problems.append(
            Problem(
                filename,
                problems[-1].line,
                "XSD_INVALID",
                f"{more} more schema errors not shown",
            )
        )
    if not problems:  # invalid but silent: still say so rather than pass it
        problems.append(
            Problem(
                filename,
                element_line(root),
                "XSD_INVALID",
                "the document does not match the schema",
            )
        )
    return problems
