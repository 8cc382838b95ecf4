"""What an image is made of and where it came from: SBOM, provenance, attaching them, verifying.

``facts`` gathers, once, everything a build knew (files and digests, pip's wheels, base digest,
the source commit, the parameters that decide the digest) into frozen records; ``sbom`` and
``provenance`` are pure functions of those records (SPDX 2.3 / CycloneDX 1.6 JSON, an in-toto v1
statement with a SLSA v1 predicate); ``artifact`` makes OCI 1.1 artifact manifests that name the
image as their subject and attaches them (``hydro_ci.registry.referrers``); ``verify`` checks a
pushed image: signature, provenance, and a rebuild from the recorded commit (``rebuild``).
"""
