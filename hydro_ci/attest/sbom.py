"""Software bills of materials of an image, from ``BuildFacts``: SPDX 2.3 and CycloneDX 1.6 JSON.

Pure: the same facts give the same bytes (the document's time is ``SOURCE_DATE_EPOCH``, its
namespace and serial number come from the image digest), so a rebuilt image has the same SBOM.

What they list: the image (by digest), its base (by digest), each payload file with its sha256,
model files with their format and framework, the contract (``/model/contract.protobin``), and every
Python package in the deps layer (name, version, the wheel's URL and sha256, the license the wheel
declares). SPDX 2.3 demands a SHA-1 for its "files", so payload files are packages of purpose
``FILE`` (sha256 only): hashing a GiB of weights twice would cost more than the whole SBOM.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

from hydro_ci import __version__
from hydro_ci.attest.facts import BuildFacts, FileFact, Package
from hydro_ci.epoch import rfc3339

SPDX_MEDIA_TYPE = "application/spdx+json"
CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json"
NAMESPACE = "https://github.com/hydro-ci/hydro-ci/spdx"
_SPDX_TOKEN = re.compile(r"^[A-Za-z0-9.+-]+$")


def _hex(digest: str | None) -> str | None:
    return digest.partition(":")[2] if digest else None


def image_purl(facts: BuildFacts) -> str:
    name = facts.repository.rsplit("/", 1)[-1]
    return (
        f"pkg:oci/{name}@{quote(facts.digest, safe='')}?repository_url={quote(facts.repository, safe='/:')}"
    )


def _pypi_purl(p: Package) -> str:
    return f"pkg:pypi/{quote(p.name.lower().replace('_', '-'))}@{quote(p.version)}"


def _file_comment(f: FileFact) -> str:
    what = f"{f.layer} layer"
    if f.format:
        what += f"; model format {f.format} ({f.framework})"
    if f.path == "/model/contract.protobin":
        what += "; the model contract (hydrosphere ModelSignature)"
    return what


# --- SPDX 2.3 ----------------------------------------------------------------------------------


def spdx_document(facts: BuildFacts) -> dict[str, Any]:
    name = f"{facts.model_name}-{facts.version or 'unversioned'}"
    packages: list[dict[str, Any]] = []
    relationships: list[dict[str, str]] = [
        {
            "spdxElementId": "SPDXRef-DOCUMENT",
            "relationshipType": "DESCRIBES",
            "relatedSpdxElement": "SPDXRef-Image",
        }
    ]
    licenses: dict[str, str] = {}  # LicenseRef id → declared text

    image = {
        "SPDXID": "SPDXRef-Image",
        "name": facts.repository,
        "versionInfo": facts.version or facts.digest,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "CONTAINER",
        "checksums": [{"algorithm": "SHA256", "checksumValue": _hex(facts.digest)}],
        "externalRefs": [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": image_purl(facts),
            }
        ],
        "comment": f"model {facts.model_name}"
        + (f", framework {facts.framework}" if facts.framework else "")
        + (f", contract sha256:{facts.contract_sha256}" if facts.contract_sha256 else ""),
    }
    packages.append(image)
    if facts.base_digest:
        packages.append(
            {
                "SPDXID": "SPDXRef-Base",
                "name": facts.base_name or facts.base_ref,
                "versionInfo": facts.base_digest,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "primaryPackagePurpose": "CONTAINER",
                "checksums": [{"algorithm": "SHA256", "checksumValue": _hex(facts.base_digest)}],
            }
        )
        relationships.append(
            {
                "spdxElementId": "SPDXRef-Image",
                "relationshipType": "DESCENDANT_OF",
                "relatedSpdxElement": "SPDXRef-Base",
            }
        )
    for i, f in enumerate(facts.files, 1):
        ident = f"SPDXRef-File-{i}"
        packages.append(
            {
                "SPDXID": ident,
                "name": f.path,
                "packageFileName": f.path,
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "primaryPackagePurpose": "FILE",
                "checksums": [{"algorithm": "SHA256", "checksumValue": f.sha256}],
                "comment": _file_comment(f),
            }
        )
        relationships.append(
            {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": ident}
        )
    for i, p in enumerate(facts.packages, 1):
        ident = f"SPDXRef-PyPI-{i}"
        pkg: dict[str, Any] = {
            "SPDXID": ident,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": p.url
            if p.url and p.url.startswith(("http://", "https://"))
            else "NOASSERTION",
            "filesAnalyzed": False,
            "primaryPackagePurpose": "LIBRARY",
            "licenseDeclared": _spdx_license(p.license, licenses),
            "externalRefs": [
                {
                    "referenceCategory": "PACKAGE-MANAGER",
                    "referenceType": "purl",
                    "referenceLocator": _pypi_purl(p),
                }
            ],
        }
        if p.sha256:
            pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": p.sha256}]
        packages.append(pkg)
        relationships.append(
            {"spdxElementId": "SPDXRef-Image", "relationshipType": "CONTAINS", "relatedSpdxElement": ident}
        )
    doc: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": name,
        "documentNamespace": f"{NAMESPACE}/{quote(facts.model_name)}/{_hex(facts.digest)}",
        "creationInfo": {
            "created": rfc3339(facts.source_date_epoch),
            "creators": [f"Tool: hydro-ci-{__version__}"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    if licenses:
        doc["hasExtractedLicensingInfos"] = [
            {"licenseId": k, "extractedText": v, "name": v[:100]} for k, v in sorted(licenses.items())
        ]
    return doc


def _spdx_license(text: str | None, refs: dict[str, str]) -> str:
    """An SPDX license expression: a plain identifier as declared, anything else a LicenseRef."""
    if not text:
        return "NOASSERTION"
    parts = text.split()
    if all(_SPDX_TOKEN.match(p) for p in parts) and all(
        (p in ("AND", "OR", "WITH")) == (i % 2 == 1) for i, p in enumerate(parts)
    ):
        return text
    ref = "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")[:60] or "declared")
    refs[ref] = text
    return ref


# --- CycloneDX 1.6 -----------------------------------------------------------------------------


def cyclonedx_document(facts: BuildFacts) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    refs: list[str] = []
    if facts.base_digest:
        components.append(
            {
                "type": "container",
                "bom-ref": "base",
                "name": facts.base_name or facts.base_ref,
                "version": facts.base_digest,
                "hashes": [{"alg": "SHA-256", "content": _hex(facts.base_digest)}],
            }
        )
        refs.append("base")
    for i, f in enumerate(facts.files, 1):
        comp: dict[str, Any] = {
            "type": "machine-learning-model" if f.format else "file",
            "bom-ref": f"file-{i}",
            "name": f.path,
            "hashes": [{"alg": "SHA-256", "content": f.sha256}],
            "properties": [{"name": "hydro-ci:layer", "value": f.layer}],
        }
        if f.format:
            comp["properties"] += [
                {"name": "hydro-ci:model-format", "value": f.format},
                {"name": "hydro-ci:framework", "value": str(f.framework)},
            ]
        components.append(comp)
        refs.append(comp["bom-ref"])
    for i, p in enumerate(facts.packages, 1):
        lib: dict[str, Any] = {
            "type": "library",
            "bom-ref": f"pypi-{i}",
            "name": p.name,
            "version": p.version,
            "purl": _pypi_purl(p),
        }
        if p.license:
            lib["licenses"] = [{"license": {"name": p.license}}]
        if p.url and p.url.startswith(("http://", "https://")):
            ext: dict[str, Any] = {"type": "distribution", "url": p.url}
            if p.sha256:
                ext["hashes"] = [{"alg": "SHA-256", "content": p.sha256}]
            lib["externalReferences"] = [ext]
        elif p.sha256:
            lib["hashes"] = [{"alg": "SHA-256", "content": p.sha256}]
        components.append(lib)
        refs.append(lib["bom-ref"])
    image: dict[str, Any] = {
        "type": "container",
        "bom-ref": "image",
        "name": facts.repository,
        "version": facts.version or facts.digest,
        "purl": image_purl(facts),
        "hashes": [{"alg": "SHA-256", "content": _hex(facts.digest)}],
    }
    if facts.contract_sha256:
        image["properties"] = [{"name": "hydro-ci:contract-sha256", "value": facts.contract_sha256}]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE + '/' + facts.digest)}",
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(facts.source_date_epoch),
            "tools": {"components": [{"type": "application", "name": "hydro-ci", "version": __version__}]},
            "component": image,
        },
        "components": components,
        "dependencies": [{"ref": "image", "dependsOn": refs}],
    }
