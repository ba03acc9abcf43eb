"""`kiosk release …`: signing keys and signed release bundles."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.cli.common import EXIT_FAILURE, EXIT_OK, CliError, print_json

if TYPE_CHECKING:
    from kiosk.ops.release import Downgrade


def register(sub: argparse._SubParsersAction) -> None:
    release = sub.add_parser("release", help="build signed release bundles")
    rsub = release.add_subparsers(dest="release_command", metavar="ACTION", required=True)
    build = rsub.add_parser("build", help="wheelhouse + metadata signed with Ed25519")
    build.add_argument("--key", required=True, type=Path, help="Ed25519 private key (PEM)")
    build.add_argument("--out", required=True, type=Path, help="bundle directory to create")
    build.add_argument("--source", type=Path, default=Path("."), help="project checkout")
    build.add_argument("--version", help="expected release version: refused if the packaged "
                       "version differs (default: the packaged version)")
    build.add_argument("--downgrade-replaces", action="append", metavar="VERSION",
                       help="sign this release as installable over this newer version "
                            "(repeat for several); needs --downgrade-expires")
    build.add_argument("--downgrade-expires", metavar="WHEN",
                       help="the downgrade permission ends then (ISO 8601: 2026-12-31 is "
                            "midnight UTC starting that day, or a time with its zone)")
    build.add_argument("--no-deps", action="store_true",
                       help="only the project wheel (kiosks then need the deps already)")
    build.add_argument("--arch", help="the kiosks' architecture, dpkg's name (default: this "
                       "machine's; arm64 for Raspberry Pis, built here from PyPI's wheels)")
    build.add_argument("--tar", type=Path,
                       help="also pack the bundle into one .tar (to carry it to provisioning)")
    build.add_argument("--json", action="store_true",
                       help="JSON output: {version, files, path, artifact}")
    build.set_defaults(handler=_build)
    keygen = rsub.add_parser("keygen", help="create a release signing key")
    keygen.add_argument("--out", required=True, type=Path, help="private key file to write")
    keygen.set_defaults(handler=_keygen)


def _downgrade(args: argparse.Namespace) -> Downgrade | None:
    """A downgrade names what it replaces and until when, or is not signed at all."""
    from kiosk.ops.release import BundleError, Downgrade, version_key

    if not args.downgrade_replaces and not args.downgrade_expires:
        return None
    if not args.downgrade_replaces or not args.downgrade_expires:
        raise CliError("--downgrade-replaces and --downgrade-expires go together: a "
                       "downgrade names the versions it replaces and when it expires")
    try:
        for version in args.downgrade_replaces:
            version_key(version)
        when = dt.datetime.fromisoformat(args.downgrade_expires)
    except (BundleError, ValueError) as exc:
        raise CliError(f"--downgrade-…: {exc}") from None
    return Downgrade(tuple(args.downgrade_replaces),
                     when if when.tzinfo else when.replace(tzinfo=dt.UTC))


def _build(args: argparse.Namespace) -> int:
    import subprocess

    from kiosk.ops.release import (
        BundleError,
        artifact_paths,
        build_bundle,
        load_private_key,
        manifest_artifact_names,
        pack,
    )

    downgrade = _downgrade(args)
    if not args.key.is_file():
        raise CliError(f"--key: {args.key} not found")
    try:  # before a build of minutes, not after it
        load_private_key(args.key)
    except (ValueError, TypeError, BundleError) as exc:
        raise CliError(f"--key: {args.key} is not an Ed25519 private key (PEM): {exc}") from None
    if not (args.source / "pyproject.toml").is_file():
        raise CliError(f"--source: {args.source} is not a project checkout (no pyproject.toml)")
    try:
        bundle = build_bundle(args.source, args.key, args.out,
                              version=args.version, include_dependencies=not args.no_deps,
                              downgrade=downgrade, arch=args.arch)
    except BundleError as exc:
        raise CliError(str(exc)) from None
    except subprocess.CalledProcessError as exc:
        words = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-5:]
        raise CliError("pip could not build the wheelhouse: " + " | ".join(words),
                       EXIT_FAILURE) from None
    except subprocess.TimeoutExpired:
        raise CliError("pip did not finish building the wheelhouse in time",
                       EXIT_FAILURE) from None
    artifact = pack(args.out, args.tar) if args.tar else None
    artifacts = len(artifact_paths(args.out))
    if args.json:
        print_json({"version": bundle.version, "files": len(bundle.files),
                    "arch": bundle.manifest.arch,
                    "path": str(bundle.path), "artifact": str(artifact) if artifact else None,
                    "artifacts": artifacts})
        return EXIT_OK
    print(f"release {bundle.version} ({bundle.manifest.arch}): {len(bundle.files)} files "
          f"({bundle.manifest.total_size} bytes) checked and signed in {bundle.path}")
    names = manifest_artifact_names(bundle.manifest.arch)
    print(f"upload to one hawkBit software module: {artifacts} artifacts "
          "(metadata.json, metadata.json.sig, wheelhouse/*.whl); beside another "
          f"architecture's release, upload the manifest as {names[0]} and {names[1]}")
    if artifact:
        print(f"artifact: {artifact}")
    return EXIT_OK


def _keygen(args: argparse.Namespace) -> int:
    from kiosk.ops.release import generate_key

    if args.out.exists():
        raise CliError(f"--out: {args.out} exists; refusing to overwrite a signing key")
    print(f"public key (pin in fleet.public_keys): {generate_key(args.out)}")
    return EXIT_OK
