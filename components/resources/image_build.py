"""Build one service's image from the mercari sources and load it into the kind cluster (dev)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_command as command
import pulumi_docker_build as docker_build

from components.config.models import BuildSource
from components.vocab import topology as topo

_SKIP_DIRS = {".git", "node_modules", "bin"}


def context_digest(root: Path) -> str:
    """Content hash of a local build context: same files, same tag; any change, a new tag."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not _SKIP_DIRS & set(p.relative_to(root).parts)):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def content_tag(build: BuildSource) -> str:
    """The image tag: the pinned commit, or the digest of the local working tree."""
    if build.git and build.commit:
        return f"git-{build.commit[:12]}"
    assert build.checkout is not None, "the config rules require git+commit or path"
    return f"src-{context_digest(build.checkout)[:12]}"


def dockerfile_location(build: BuildSource, service: topo.Service) -> str:
    """The service's Dockerfile at the pinned commit (raw URL), or inside the local checkout."""
    if build.github_repo:
        return f"https://raw.githubusercontent.com/{build.github_repo}/{build.commit}/{service.dockerfile_path}"
    return str(build.checkout) + "/" + service.dockerfile_path


def build_context(build: BuildSource) -> str:
    """BuildKit context: `<git url>#<commit>` (pinned) or the local checkout. BuildKit reads an
    HTTP(S) URL as a git repository only when it ends in `.git`; otherwise it downloads the page
    as the context (GitHub's HTML) and the first COPY fails."""
    # Ref: https://github.com/moby/buildkit/blob/v0.23.0/util/gitutil/git_ref.go (ParseGitRef: .git suffix)
    if not build.git:
        return str(build.checkout)
    url = build.git
    if url.startswith(("https://", "http://")) and not url.removesuffix("/").endswith(".git"):
        url = url.removesuffix("/") + ".git"
    return f"{url}#{build.commit}"


@dataclass(frozen=True, kw_only=True)
class ImageBuildArgs:
    service: topo.Service
    """Whose Dockerfile to build."""
    build: BuildSource
    """`mesh:workloads.build`."""
    repository: str
    """Image name without tag, e.g. mercari/mercari-microservices-example/gateway."""
    tag: str
    """`content_tag(build)`, computed once per stack."""


class ImageBuild(pulumi.ComponentResource):
    """docker-build Image (into the local Docker) + `kind load docker-image`. `ref` is what pods run."""

    ref: pulumi.Output[str]

    def __init__(self, name: str, args: ImageBuildArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mesh:app:ImageBuild", name, None, opts)
        reference = f"{args.repository}:{args.tag}"
        image = docker_build.Image(
            f"{name}-image",
            docker_build.ImageArgs(
                context=docker_build.BuildContextArgs(location=build_context(args.build)),
                # Ref: mercari Makefile: `docker build --file ./services/<name>/Dockerfile .` (repo root context)
                dockerfile=docker_build.DockerfileArgs(location=dockerfile_location(args.build, args.service)),
                tags=[reference],
                push=False,
                # Previews stay fast and need no Docker daemon: build only on `pulumi up`.
                # Ref: https://www.pulumi.com/registry/packages/docker-build/api-docs/image/#buildonpreview_python
                build_on_preview=False,
                exports=[docker_build.ExportArgs(docker=docker_build.ExportDockerArgs())],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        load = command.local.Command(
            f"{name}-kind-load",
            create=f"kind load docker-image {reference} --name {args.build.kind_cluster}",
            triggers=[image.digest, reference],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[image]),
        )
        # The Deployment gets the reference only once the image is inside the cluster's nodes.
        self.ref = load.stdout.apply(lambda _: reference)
        self.register_outputs({"ref": self.ref})
