"""Which image each service runs, read from the config once: a registry image (its override, else
<registry>/<service>:<tag>) or a build from source; and the rules that make an image that cannot be
resolved a `ConfigError` before anything is registered. The plan passes the result on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from components.config.errors import Problem
from components.config.models import ImageConfig, StackConfig
from components.vocab.environments import POSTURES


@dataclass(frozen=True)
class ImageRef:
    """A registry image: repository plus tag or digest; `key` is the config key that chose it."""

    repository: str
    tag: Optional[str]
    digest: Optional[str]
    key: str

    @property
    def reference(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


def is_built(cfg: StackConfig, service: str) -> bool:
    """Built from source (mesh:workloads.build) unless the service names its own registry image."""
    override = cfg.workloads.services.get(service)
    return cfg.workloads.build is not None and not (override and override.image)


def image_of(cfg: StackConfig, service: str) -> ImageRef:
    """The registry image a service runs: its override, else <registry>/<service>:<tag>."""
    override = cfg.workloads.services.get(service)
    img = override.image if override and override.image else ImageConfig()
    key = f"mesh:workloads.services.{service}.image" if override and override.image else "mesh:workloads.tag"
    tag = img.tag if (img.tag or img.digest) else cfg.workloads.tag
    return ImageRef(
        repository=img.repository or f"{cfg.workloads.registry}/{service}",
        tag=tag,
        digest=img.digest,
        key=key,
    )


def image_problems(cfg: StackConfig) -> list[Problem]:
    """Every pulled (not built) service has exactly one of tag or digest, and no `latest` outside dev.
    A shared default (mesh:workloads.tag) is reported once."""
    out: list[Problem] = []
    for svc in cfg.topology.services:
        if is_built(cfg, svc.name):
            continue
        for found in _image_rules(cfg, svc.name, image_of(cfg, svc.name)):
            if found not in out:
                out.append(found)
    return out


def _image_rules(cfg: StackConfig, service: str, image: ImageRef) -> list[Problem]:
    if image.tag and image.digest:
        return [Problem(f"{image.key}.digest", image.digest, "set tag or digest, not both")]
    if not image.tag and not image.digest:
        return [Problem(image.key, None, f"service '{service}' needs an image tag or digest")]
    if not POSTURES[cfg.environment].mutable_tags and image.tag == "latest" and not image.digest:
        return [Problem(image.key if image.key.endswith("tag") else f"{image.key}.tag", "latest",
                        f"'latest' is not allowed in {cfg.environment}: pin a version tag or a sha256 digest")]
    return []
