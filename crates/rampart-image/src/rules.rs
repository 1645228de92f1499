//! Rules for what is wrong with an image's structure. Layer contents (models, secrets,
//! packages) are the business of the scanners the files are handed to.

use rampart_core::{Reference, Rule, Severity};

pub static BLOB_DIGEST_MISMATCH: Rule = Rule {
    id: "image/blob-digest-mismatch",
    scanner: "model",
    severity: Severity::High,
    title: "Image layer does not match its digest",
    description: "A layer's bytes (or its uncompressed tar) do not hash to the digest the manifest or \
                  the image config records for it, or no digest covers it at all. The layer was \
                  altered after the image was built, or the image was assembled by hand: what a \
                  registry or runtime verifies is not what this layer contains.",
    remediation: "Do not run the image. Pull or rebuild it from a trusted source and compare digests \
                  with the ones your registry or signature records.",
    references: &[
        Reference::Cwe(354),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
        Reference::Owasp("LLM03:2025"),
    ],
};

pub static LAYER_PATH_TRAVERSAL: Rule = Rule {
    id: "image/layer-path-traversal",
    scanner: "model",
    severity: Severity::High,
    title: "Image layer entry escapes the root filesystem",
    description: "A layer's tar entry (or hard link target) is an absolute path or climbs out of the \
                  root with `..`. Image builders never write such names; container runtimes clamp \
                  them to the root, but other extractors (`tar -x`, older engines, CI tooling) write \
                  outside the target directory.",
    remediation: "Do not extract or run the image. Rebuild it with a standard builder from a \
                  trusted Dockerfile.",
    references: &[
        Reference::Cwe(22),
        Reference::Atlas("AML.T0010"),
        Reference::Owasp("ML06:2023"),
    ],
};

const BUILD_REFS: &[Reference] = &[
    Reference::Cwe(494),
    Reference::Atlas("AML.T0010"),
    Reference::Owasp("ML06:2023"),
    Reference::Owasp("LLM03:2025"),
];

pub static SECRET_IN_DELETED_LAYER: Rule = Rule {
    id: "image/secret-in-deleted-layer",
    scanner: "secret",
    severity: Severity::High,
    title: "Secret in a file a later image layer deleted",
    description: "A file holding a credential was added in one layer and deleted (or replaced) in \
                  a later one. Deleting a file in a Dockerfile step only hides it: the earlier \
                  layer still ships with the image, and anyone who can pull the image recovers \
                  the file with `docker save` and `tar -x` of that layer (or tools that browse \
                  `docker history`).",
    remediation: "Revoke the credential now. Then rebuild so that it never enters a layer: use \
                  build secrets (`RUN --mount=type=secret`) or a multi-stage build that copies \
                  only the output, and delete the old image tags from every registry.",
    references: &[
        Reference::Cwe(312),
        Reference::Cwe(798),
        Reference::Atlas("AML.T0055"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static RUNS_AS_ROOT: Rule = Rule {
    id: "image/runs-as-root",
    scanner: "config",
    severity: Severity::Medium,
    title: "Image runs as root",
    description: "The image config sets no `User`, or sets root (`root`, `0`). A model server \
                  running as root turns any code execution in it (a malicious model file, a \
                  deserialisation bug) into root in the container, one kernel or runtime bug \
                  away from the host.",
    remediation: "Add a non-root user and end the Dockerfile with `USER 10001` (a numeric id, so \
                  Kubernetes `runAsNonRoot` can verify it); make the model and cache directories \
                  readable by that user.",
    references: &[
        Reference::Cwe(250),
        Reference::Atlas("AML.T0011.000"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static CURL_PIPE_SHELL: Rule = Rule {
    id: "image/curl-pipe-shell",
    scanner: "config",
    severity: Severity::High,
    title: "Build step pipes a download into a shell",
    description: "A build step in the image history downloads a script and runs it at once \
                  (`curl … | sh`, `wget -O- … | bash`). Whatever the server (or anyone between) \
                  returned that day was executed as root in the image, unreviewed and \
                  unverifiable afterwards.",
    remediation: "Download the script to a file, verify its checksum or signature against a \
                  pinned value, then run it; better, install the tool from a package with a \
                  pinned version.",
    references: BUILD_REFS,
};

pub static ADD_FROM_URL: Rule = Rule {
    id: "image/add-from-url",
    scanner: "config",
    severity: Severity::Medium,
    title: "Build step adds a file from a URL without a checksum",
    description: "A Dockerfile `ADD http(s)://…` step fetched a file at build time without \
                  `--checksum`: the image contains whatever the URL served then, and nothing \
                  records what that was supposed to be.",
    remediation: "Use `ADD --checksum=sha256:<digest> <url> <dest>`, or download in a `RUN` step \
                  that verifies a pinned checksum.",
    references: BUILD_REFS,
};

pub static UNPINNED_PACKAGE_INSTALL: Rule = Rule {
    id: "image/unpinned-package-install",
    scanner: "config",
    severity: Severity::Low,
    title: "Build step installs packages without pinned versions",
    description: "A build step in the image history installs packages by name only (`apt-get \
                  install x`, `pip install x`, `apk add x`), so each rebuild may get different \
                  versions, including a compromised release. It is low severity: official base \
                  images do this too (the distribution's signed repository is the pin), and the \
                  image's package inventory (`rampart sbom`) records what was actually installed.",
    remediation: "Pin versions (`apt-get install x=1.2-3`, `pip install x==1.2 --require-hashes`, \
                  `apk add x=1.2-r0`), or install from a lock file; rebuild from base images \
                  pinned by digest.",
    references: BUILD_REFS,
};

pub static NOTABLE_PORT: Rule = Rule {
    id: "image/notable-port",
    scanner: "config",
    severity: Severity::Low,
    title: "Image exposes a port of a remote-access or unauthenticated service",
    description: "The image config exposes a port that usually belongs to a service that should \
                  not sit in a model-serving image or should not be reachable: SSH (22), the \
                  Docker API (2375 plain, 2376), Redis (6379), MongoDB (27017), Jupyter (8888), \
                  databases and caches. These often run without authentication by default.",
    remediation: "Remove the service from the image, or keep the port off the published service \
                  and require authentication on it.",
    references: &[
        Reference::Cwe(284),
        Reference::Atlas("AML.T0049"),
        Reference::Owasp("ML06:2023"),
    ],
};

pub static DECLARED_VOLUME: Rule = Rule {
    id: "image/declared-volume",
    scanner: "config",
    severity: Severity::Info,
    title: "Image declares a volume",
    description: "The image config declares a `VOLUME`. Its content at run time comes from \
                  outside the image (a mounted or anonymous volume), so it is not covered by the \
                  image digest, this scan or a signature; a model loaded from it is unverified.",
    remediation: "Verify whatever is loaded from the volume at start-up (`rampart verify` against a \
                  signature), or ship the models inside the image.",
    references: &[
        Reference::Cwe(345),
        Reference::Atlas("AML.T0010.003"),
        Reference::Owasp("ML06:2023"),
    ],
};

/// Every rule of this crate, for `rampart rules`.
pub static RULES: &[&Rule] = &[
    &BLOB_DIGEST_MISMATCH,
    &LAYER_PATH_TRAVERSAL,
    &SECRET_IN_DELETED_LAYER,
    &RUNS_AS_ROOT,
    &CURL_PIPE_SHELL,
    &ADD_FROM_URL,
    &UNPINNED_PACKAGE_INSTALL,
    &NOTABLE_PORT,
    &DECLARED_VOLUME,
];
