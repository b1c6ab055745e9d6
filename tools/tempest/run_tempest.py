#!/usr/bin/env python3
"""Run upstream OpenStack Tempest against a vistack cloud and summarise the results.

Why this script exists
    Tempest is the conformance suite every OpenStack deployment is judged by. vistack claims
    to speak the OpenStack APIs, so Tempest (unmodified, from PyPI) is its referee. Getting a
    Tempest run right takes several steps that are easy to get subtly wrong by hand: a
    compatible Tempest install, a tempest.conf whose feature flags match what vistack really
    implements, a cloud to run against, an exclude list for documented gaps, and a readable
    summary. This script does all of it in one command (`make tempest`).

Why stdlib-only, and why a separate venv
    Tempest pins many oslo/stestr libraries that must not leak into vistack's own environment
    (`.venv`), so it lives in its own venv, `.tempest-venv`, built on first use from the pinned
    version and the frozen constraints next to this file. This script runs under any Python
    3.11 (normally `.venv/bin/python`) and imports nothing outside the standard library, so it
    works before either venv is complete. Everything Tempest-side runs as a subprocess from
    `.tempest-venv` (tempest, stestr, and PyYAML to read clouds.yaml); results come from
    `stestr last --subunit` and are decoded by a small subunit v2 reader.

The modules next to this script (stdlib-only too, imported as top-level modules)
    harness_tables.py   what vistack implements: services, feature flags, tempest.conf tables;
    harness_cloud.py    clouds.yaml, the private `vistack up`, the admin token and catalog;
    harness_compute.py  what compute tests need made first: VMDK images, microversions, network;
    harness_results.py  the subunit reader, per-test outcomes and the printed summary;
    harness_interop.py  the run against an interop guideline's test list (`--interop`);
    harness_common.py   paths, constants, errors, the admin's API calls.

What it does
    1. ensures `.tempest-venv` with tempest==TEMPEST_VERSION (reused when already right);
    2. uses the cloud described by `--cloud-dir DIR/clouds.yaml`, or starts its own
       `vistack up` on a free loopback port with a temporary data dir, and stops it at the end;
    3. writes a Tempest workspace (default `.tempest-work/`) with a tempest.conf derived from
       the cloud: admin credentials, dynamic credentials, identity URI and region, the feature
       flags of harness_tables.py, and `[service_available]` switched on for exactly the
       services the Keystone catalog lists (so new vistack services are picked up without
       editing this file); with compute in the catalog, the images, microversion range and
       network settings servers need (made as the admin when missing);
    4. runs `tempest run` with a regex selecting the chosen services' API tests (identity,
       compute, image and network by default), `--exclude-list` built from
       tools/tempest/exclude-<service>.txt;
    5. parses the stestr results and prints passed/failed/skipped/excluded per service, skip
       reasons and the failed tests with a one-line cause; optionally writes a JSON summary.

Exit status: 0 when no selected test failed (skips and exclusions are fine), 1 when a test
failed or did not report a result, 2 when the harness itself could not run (no cloud, Tempest
install or listing failed, no results recorded).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from harness_cloud import (
    CloudCreds,
    KeystoneInfo,
    VistackServer,
    keystone_probe,
    load_clouds_yaml,
    vistack_command,
)
from harness_common import (
    CONSTRAINTS_FILE,
    DEFAULT_CLOUD,
    DEFAULT_VENV,
    DEFAULT_WORK_DIR,
    TEMPEST_VERSION,
    TOOLS_DIR,
    ExcludeRule,
    HarnessError,
    file_lock,
    free_port,
    log,
    rel,
    strip_attrs,
)
from harness_compute import ComputeInfo
from harness_interop import interop_table, load_guideline, print_interop
from harness_results import (
    TestEvents,
    counts_by_service,
    parse_subunit_v2,
    print_report,
    summarise,
)
from harness_tables import (
    ALWAYS_UNAVAILABLE,
    COMPUTE_FEATURES,
    COMPUTE_OPTIONS,
    IDENTITY_EXTENSIONS,
    IDENTITY_FEATURES,
    IMAGE_FEATURES,
    IMAGE_OPTIONS,
    NETWORK_FEATURES,
    NETWORK_OPTIONS,
    PRIVATE_CLOUD_COMPLIANCE,
    PUBLIC_NETWORK,
    SERVICE_BY_NAME,
    SERVICES,
    VALIDATION_OPTIONS,
    VOLUME_FEATURES,
    VOLUME_OPTIONS,
    Service,
)

# ---------------------------------------------------------------------------------------------
# 1. The Tempest venv
# ---------------------------------------------------------------------------------------------


def _pin_fingerprint() -> str:
    text = TEMPEST_VERSION + "\n" + CONSTRAINTS_FILE.read_text()
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_tempest_venv(venv: Path) -> Path:
    """Create or update `venv` so it holds the pinned Tempest; return its python."""
    python = venv / "bin" / "python"
    marker = venv / ".vistack-tempest-pin"
    wanted = _pin_fingerprint()
    venv.mkdir(parents=True, exist_ok=True)  # the lock lives inside (already git-ignored)
    with file_lock(venv / ".vistack-install.lock"):
        if python.exists() and marker.exists() and marker.read_text().strip() == wanted:
            return python
        if not python.exists():
            log(f"creating {rel(venv)} (one-time)")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        log(f"installing tempest=={TEMPEST_VERSION} into {rel(venv)} (one-time, ~1 min)")
        pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
        try:
            subprocess.run(
                [*pip, "-c", str(CONSTRAINTS_FILE), f"tempest=={TEMPEST_VERSION}"], check=True
            )
        except subprocess.CalledProcessError as exc:
            raise HarnessError(f"pip could not install tempest into {venv}: {exc}") from exc
        marker.write_text(wanted + "\n")
    return python


# ---------------------------------------------------------------------------------------------
# 3. Workspace and tempest.conf
# ---------------------------------------------------------------------------------------------


def tempest_package_dir(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import os, tempest; print(os.path.dirname(tempest.__file__))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(out)


def prepare_workspace(work: Path, python: Path) -> None:
    tempest_pkg = tempest_package_dir(python)
    for sub in ("etc", "logs", "tempest_lock"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    # Same content `tempest init` writes; group_regex keeps a test class on one worker.
    (work / ".stestr.conf").write_text(
        "[DEFAULT]\n"
        f"test_path={tempest_pkg / 'test_discover'}\n"
        f"top_dir={tempest_pkg}\n"
        "group_regex=([^\\.]*\\.)*\n"
    )
    if not (work / ".stestr").is_dir():
        subprocess.run(
            [str(python.parent / "stestr"), "init"], cwd=work, check=True, capture_output=True
        )


def build_tempest_conf(
    work: Path,
    creds: CloudCreds,
    info: KeystoneInfo,
    overrides: Sequence[tuple[str, str, str]],
    private_cloud: bool = False,
) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str  # type: ignore[assignment,method-assign]
    region = creds.region or ("RegionOne" if "RegionOne" in info.regions else None)
    if region is None and info.regions:
        region = sorted(info.regions)[0]
    conf["DEFAULT"] = {
        "log_dir": str(work / "logs"),
        "log_file": "tempest.log",
        "debug": "true",
    }
    conf["oslo_concurrency"] = {"lock_path": str(work / "tempest_lock")}
    conf["auth"] = {
        "use_dynamic_credentials": "true",
        "create_isolated_networks": "false",
        "admin_username": creds.username,
        "admin_password": creds.password,
        "admin_project_name": creds.project_name,
        "admin_domain_name": creds.user_domain_name,
        "admin_user_domain_name": creds.user_domain_name,
        "admin_project_domain_name": creds.project_domain_name,
        "default_credentials_domain_name": creds.user_domain_name,
    }
    conf["identity"] = {
        "uri_v3": creds.uri_v3,
        "auth_version": "v3",
        "region": region or "RegionOne",
        "v3_endpoint_type": "public",
        "admin_role": "admin",
        "default_domain_id": (
            info.user_domain_id
            if info.user_domain_id and creds.user_domain_name == "Default"
            else "default"
        ),
    }
    features = dict(IDENTITY_FEATURES)
    features["api_extensions"] = ",".join(IDENTITY_EXTENSIONS)
    if private_cloud:
        features["security_compliance"] = "true"
        for value, tempest_option in PRIVATE_CLOUD_COMPLIANCE.values():
            conf["identity"][tempest_option] = value
    conf["identity-feature-enabled"] = features
    available: dict[str, str] = {}
    for service in SERVICES:
        if service.available_option is not None:
            on = bool(info.catalog_types & set(service.catalog_types))
            available[service.available_option] = "true" if on else "false"
    for option in ALWAYS_UNAVAILABLE:
        available[option] = "false"
    conf["service_available"] = available
    conf["image"] = {**IMAGE_OPTIONS, "region": region or "RegionOne"}
    conf["image-feature-enabled"] = dict(IMAGE_FEATURES)
    if info.network_extensions is not None:
        conf["network-feature-enabled"] = {
            **NETWORK_FEATURES,
            "api_extensions": ",".join(info.network_extensions) or "None",
        }
        if not info.public_network_id:
            conf["network-feature-enabled"]["floating_ips"] = "false"
        conf["network"] = dict(NETWORK_OPTIONS)
        if info.public_network_id:
            conf["network"]["public_network_id"] = info.public_network_id
            conf["network"]["floating_network_name"] = PUBLIC_NETWORK
    if info.compute is not None:
        add_compute_sections(conf, info.compute)
    if info.volume is not None:
        volume = {**VOLUME_OPTIONS, "catalog_type": info.volume.catalog_type,
                  "region": region or "RegionOne"}  # fmt: skip
        if info.volume.min_microversion and info.volume.max_microversion:
            volume["min_microversion"] = info.volume.min_microversion
            volume["max_microversion"] = info.volume.max_microversion
        conf["volume"] = volume
        conf["volume-feature-enabled"] = dict(VOLUME_FEATURES)
    conf["enforce_scope"] = {"keystone": "false", "glance": "false"}
    conf["service-clients"] = {"http_timeout": "60"}
    for section, option, value in overrides:
        if section != "DEFAULT" and not conf.has_section(section):
            conf.add_section(section)
        conf[section][option] = value
    return conf


def add_compute_sections(conf: configparser.ConfigParser, compute: ComputeInfo) -> None:
    """[compute], [compute-feature-enabled], [validation], and how servers get a network."""
    options = {**COMPUTE_OPTIONS, "image_ref": compute.image_ref,
               "image_ref_alt": compute.image_ref_alt,
               "min_compute_nodes": str(compute.compute_nodes)}  # fmt: skip
    if compute.min_microversion and compute.max_microversion:
        options["min_microversion"] = compute.min_microversion
        options["max_microversion"] = compute.max_microversion
    if compute.fixed_network_name:
        options["fixed_network_name"] = compute.fixed_network_name
    else:
        # The test classes that boot servers on a network of their own get one (network,
        # subnet, router to `public`) in their dynamic project, as on a devstack.
        conf["auth"]["create_isolated_networks"] = "true"
    conf["compute"] = options
    conf["compute-feature-enabled"] = dict(COMPUTE_FEATURES)
    conf["validation"] = dict(VALIDATION_OPTIONS)


def write_conf(conf: configparser.ConfigParser, path: Path) -> None:
    with path.open("w") as handle:
        handle.write("# Written by tools/tempest/run_tempest.py; regenerated on every run.\n")
        conf.write(handle)
    path.chmod(0o600)  # holds the admin password


def parse_override(spec: str) -> tuple[str, str, str]:
    """`SECTION.OPTION=VALUE` -> (section, option, value)."""
    key, sep, value = spec.partition("=")
    section, dot, option = key.partition(".")
    if not sep or not dot or not section or not option:
        raise argparse.ArgumentTypeError(f"expected SECTION.OPTION=VALUE, got {spec!r}")
    return section, option, value


# ---------------------------------------------------------------------------------------------
# 4. Selection, exclusion, running
# ---------------------------------------------------------------------------------------------


def load_exclude_rules(services: Sequence[Service]) -> list[ExcludeRule]:
    """Rules from tools/tempest/exclude-<service>.txt, parsed the way stestr parses them."""
    rules: list[ExcludeRule] = []
    for service in services:
        path = TOOLS_DIR / f"exclude-{service.name}.txt"
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            regex, _, comment = line.strip().partition("#")
            regex = regex.strip()
            if not regex:
                continue
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                raise HarnessError(f"{path}:{number}: bad regex {regex!r}: {exc}") from exc
            reason = comment.strip() or f"excluded by {regex}"
            rules.append(ExcludeRule(pattern, reason, f"{path.name}:{number}"))
    return rules


def write_exclude_file(rules: Sequence[ExcludeRule], path: Path) -> None:
    lines = [f"{rule.pattern.pattern}  # {rule.reason}" for rule in rules]
    path.write_text("\n".join(lines) + ("\n" if lines else ""))


def build_regex(services: Sequence[Service], smoke: bool) -> str:
    packages = "|".join(re.escape(s.api_package) for s in services)
    regex = rf"^tempest\.api\.({packages})\."
    scenarios = "|".join(re.escape(m) for s in services for m in s.scenarios)
    if scenarios:
        regex = rf"^tempest\.(api\.({packages})|scenario\.({scenarios}))\."
    if smoke:
        regex += r".*\[.*\bsmoke\b.*\]"
    return regex


def tempest_env(work: Path, test_timeout: int) -> dict[str, str]:
    env = dict(os.environ)
    env["TEMPEST_CONFIG_DIR"] = str(work / "etc")
    env["TEMPEST_CONFIG"] = "tempest.conf"
    env["OS_TEST_TIMEOUT"] = str(test_timeout)
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


def list_tests(tempest: Path, work: Path, regex: str, env: dict[str, str]) -> list[str]:
    proc = subprocess.run(
        [str(tempest), "run", "--config-file", str(work / "etc" / "tempest.conf"),
         "--list-tests", "--regex", regex],
        cwd=work, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if proc.returncode != 0:
        raise HarnessError(f"tempest --list-tests failed:\n{proc.stdout}\n{proc.stderr}")
    return sorted(line.strip() for line in proc.stdout.splitlines() if line.startswith("tempest."))


def next_stream_id(work: Path) -> int:
    try:
        return int((work / ".stestr" / "next-stream").read_text().strip())
    except (OSError, ValueError):
        return 0


def last_run_subunit(stestr: Path, work: Path, env: dict[str, str]) -> bytes:
    """The latest run as a subunit v2 stream (stestr stores runs as v1 text on disk)."""
    proc = subprocess.run(
        [str(stestr), "last", "--subunit"], cwd=work, env=env, capture_output=True
    )
    if not proc.stdout:
        raise HarnessError(f"stestr last --subunit gave nothing: {proc.stderr.decode()[-2000:]}")
    return proc.stdout


def run_tempest(
    tempest: Path, work: Path, regex: str, exclude: Path, concurrency: int, env: dict[str, str]
) -> int:
    command = [
        str(tempest), "run",
        "--config-file", str(work / "etc" / "tempest.conf"),
        "--regex", regex,
        "--exclude-list", str(exclude),
        "--concurrency", str(concurrency),
    ]  # fmt: skip
    log("running: " + " ".join(command))
    proc = subprocess.Popen(command, cwd=work, env=env, start_new_session=True)
    try:
        return proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        raise


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run Tempest against vistack (see docs/tempest.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--cloud-dir",
        type=Path,
        default=None,
        help="use the running cloud whose clouds.yaml is in DIR "
        "(default: start a private `vistack up`)",
    )
    parser.add_argument("--cloud", default=DEFAULT_CLOUD, help="cloud name in clouds.yaml")
    parser.add_argument(
        "--services",
        default="identity,compute,image,network",
        help="comma-separated services whose tempest.api tests run: " + ",".join(SERVICE_BY_NAME),
    )
    parser.add_argument("--smoke", action="store_true", help="only smoke-tagged tests")
    parser.add_argument(
        "--regex", default=None, help="test selection regex (overrides --services/--smoke)"
    )
    parser.add_argument("--concurrency", type=int, default=2, help="stestr workers")
    parser.add_argument(
        "--test-timeout",
        type=int,
        default=300,
        help="per-test timeout in seconds (OS_TEST_TIMEOUT)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=180.0,
        help="seconds to wait for `vistack up` to be ready",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=parse_override,
        default=[],
        metavar="SECTION.OPTION=VALUE",
        help="override a tempest.conf option (repeatable)",
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="Tempest venv")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=DEFAULT_WORK_DIR,
        help="Tempest workspace (config, logs, stestr repository)",
    )
    parser.add_argument(
        "--summary-json",
        type=Path,
        default=None,
        help="also write the summary as JSON to this path",
    )
    parser.add_argument(
        "--interop",
        type=Path,
        default=None,
        metavar="TSV",
        help="also report the run against an interop guideline's test list (tab-separated: "
        "capability, project, test id, idempotent id, flagged)",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the private cloud's data dir after the run"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="only list the selected tests with their fate, run nothing",
    )
    parser.add_argument(
        "--install-only", action="store_true", help="only make sure .tempest-venv is ready"
    )
    return parser.parse_args(argv)


def _raise_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        return _main(args)
    except HarnessError as exc:
        print(f"[run_tempest] ERROR: {exc}", file=sys.stderr, flush=True)
        return 2


def list_only(
    python: Path, work: Path, regex: str, rules: Sequence[ExcludeRule], args: argparse.Namespace
) -> int:
    """List the selection with each test's fate; needs no cloud (a placeholder config)."""
    placeholder = CloudCreds("http://127.0.0.1:1/identity", "admin", "x", "admin",
                             "Default", "Default", "RegionOne")  # fmt: skip
    info = KeystoneInfo(frozenset({"identity"}), "default", frozenset({"RegionOne"}))
    write_conf(
        build_tempest_conf(work, placeholder, info, args.overrides), work / "etc" / "tempest.conf"
    )
    listed = list_tests(python.parent / "tempest", work, regex, tempest_env(work, 0))
    excluded = 0
    for outcome in summarise(listed, rules, {}):
        if outcome.status == "excluded":
            excluded += 1
            fate = "excluded: " + outcome.reason
        else:
            fate = "selected"
        print(f"{strip_attrs(outcome.test_id)}  [{fate}]")
    print(
        f"{len(listed)} tests match {regex!r}: "
        f"{len(listed) - excluded} selected, {excluded} excluded"
    )
    return 0


def _main(args: argparse.Namespace) -> int:
    try:
        services = [SERVICE_BY_NAME[name.strip()] for name in args.services.split(",") if name]
    except KeyError as exc:
        raise HarnessError(f"unknown service {exc}; known: {', '.join(SERVICE_BY_NAME)}") from exc
    python = ensure_tempest_venv(args.venv.resolve())
    tempest = python.parent / "tempest"
    if args.install_only:
        log(f"{rel(args.venv.resolve())} ready with tempest {TEMPEST_VERSION}")
        return 0

    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    prepare_workspace(work, python)
    guideline = load_guideline(args.interop) if args.interop is not None else None
    rules = load_exclude_rules(services)
    exclude_file = work / "exclude-list.txt"
    write_exclude_file(rules, exclude_file)
    regex = args.regex or build_regex(services, args.smoke)

    if args.list:
        return list_only(python, work, regex, rules, args)

    server: VistackServer | None = None
    data_dir: Path | None = None
    try:
        if args.cloud_dir is not None:
            cloud_dir = args.cloud_dir.resolve()
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="vistack-tempest-"))
            cloud_dir = data_dir
            bind = f"127.0.0.1:{free_port()}"
            server = VistackServer(
                [*vistack_command(), "up", "--data-dir", str(data_dir), "--bind", bind],
                work / "logs" / "vistack.log",
            )
            server.start()
            server.wait_ready(args.start_timeout, data_dir / "clouds.yaml")

        creds = load_clouds_yaml(cloud_dir / "clouds.yaml", args.cloud, python)
        info = keystone_probe(creds, work / "images")
        log(f"cloud {creds.uri_v3}: catalog types {sorted(info.catalog_types) or '(none)'}")
        missing = [s.name for s in services if not info.catalog_types & set(s.catalog_types)]
        if missing:
            log(f"warning: selected services not in the catalog: {', '.join(missing)}")
        conf = build_tempest_conf(
            work, creds, info, args.overrides, private_cloud=server is not None
        )
        write_conf(conf, work / "etc" / "tempest.conf")

        env = tempest_env(work, args.test_timeout)
        listed = list_tests(tempest, work, regex, env)
        if not listed:
            raise HarnessError(f"no Tempest test matches {regex!r}")

        stream_id = next_stream_id(work)
        started = time.monotonic()
        return_code = run_tempest(tempest, work, regex, exclude_file, args.concurrency, env)
        elapsed = time.monotonic() - started
        stream = work / ".stestr" / str(stream_id)
        if not stream.is_file():
            if all(any(r.pattern.search(t) for r in rules) for t in listed):
                events: dict[str, TestEvents] = {}
            else:
                raise HarnessError(
                    f"tempest run exited {return_code} and recorded no results ({stream})"
                )
        else:
            events = parse_subunit_v2(last_run_subunit(python.parent / "stestr", work, env))
    finally:
        if server is not None:
            server.stop()
        if data_dir is not None:
            # Edge mode leaves routers and DHCP servers running on purpose; the private
            # cloud's must not outlive it.
            subprocess.run(
                [*vistack_command(), "edge", "teardown", "--data-dir", str(data_dir)],
                capture_output=True,
                check=False,
            )
        if data_dir is not None and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)

    outcomes = summarise(listed, rules, events)
    table = counts_by_service(outcomes, services)
    print_report(table, outcomes)
    log(f"tempest finished in {elapsed:.0f}s (exit {return_code}); logs in {rel(work / 'logs')}")
    interop = interop_table(guideline, outcomes) if guideline is not None else None
    if interop is not None and args.interop is not None:
        print_interop(args.interop, interop)
    failed = [o for o in outcomes if o.status == "failed"]
    exit_code = 1 if failed else 0
    summary = {
        "tempest_version": TEMPEST_VERSION,
        "cloud": creds.uri_v3,
        "regex": regex,
        "exclude_list": str(exclude_file),
        "elapsed_seconds": round(elapsed, 1),
        "tempest_exit_code": return_code,
        "exit_code": exit_code,
        "services": table,
        "failed": {o.test_id: o.reason for o in failed},
        "tests": [dataclasses.asdict(o) for o in outcomes],
    }
    if interop is not None:
        summary["interop"] = interop
    (work / "last-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.summary_json is not None:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps(summary, indent=2) + "\n")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
