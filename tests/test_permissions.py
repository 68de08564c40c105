"""compiler/merge_plan, compiler/path_fixes (pure) and appliers/permissions + `specctl
fix-permissions` on a real broken tree (as root: real chown, real symlinks)."""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from pathlib import Path

import pytest

from specctl.appliers.checks.base import Context
from specctl.appliers.checks.files import check_env_files
from specctl.appliers.observe import observe_path
from specctl.appliers.permissions import fix_permissions, managed_paths
from specctl.appliers.project import Project, load_project
from specctl.compiler.diff import diff_path
from specctl.compiler.merge_plan import Entry, Move, Tree, plan_merge
from specctl.compiler.path_fixes import Fix, plan_path_fixes
from specctl.schemas.desired import DesiredPath
from specctl.schemas.errors import ApplyError
from tests.conftest import run_cli

D = Entry("dir", 0, 0, 0o755)
F = Entry("file", 0, 0, 0o644)
L = Entry("link", 0, 0, 0o777)
NOW = 1_800_000_000.0
DAY = 86400.0


def desired_path(**fields: object) -> DesiredPath:
    base: dict[str, object] = {
        "name": "uploads",
        "address": "path.uploads.blue",
        "color": "blue",
        "path": "uploads/blue",
        "kind": "directory",
        "uid": 1001,
        "gid": 1001,
        "mode": "0755",
        "subdirs": [],
        "files": [],
        "cleanup": None,
    }
    return DesiredPath.model_validate({**base, **fields})


# The merge plan ----------------------------------------------------------------------------------


def test_merge_moves_what_is_missing_and_merges_folders() -> None:
    tree: Tree = {
        "": D,
        "images": D,
        "images/a.png": F,
        "blue": D,
        "blue/images": D,
        "blue/images/b.png": F,
        "blue/thumbs": D,
        "blue/thumbs/t.png": F,
    }
    merge = plan_merge(tree, "blue")
    assert merge.moves == [
        Move("blue/images/b.png", "images/b.png"),
        Move("blue/thumbs", "thumbs"),
    ]
    assert merge.emptied == ["blue/images", "blue"]
    assert sorted(merge.tree) == [
        "",
        "images",
        "images/a.png",
        "images/b.png",
        "thumbs",
        "thumbs/t.png",
    ]


def test_merge_keeps_both_on_a_name_conflict() -> None:
    tree: Tree = {
        "": D,
        "notes.txt": F,
        "notes.from-nested.txt": F,
        "data": F,
        "blue": D,
        "blue/notes.txt": F,
        "blue/data": D,
        "blue/data/x": F,
    }
    merge = plan_merge(tree, "blue")
    assert merge.moves == [
        Move("blue/data", "data.from-nested", clash="data"),
        Move("blue/notes.txt", "notes.from-nested-2.txt", clash="notes.txt"),
    ]
    assert len(merge.tree) == len(tree) - 1  # only the emptied folder is gone


def test_merge_never_picks_a_name_a_later_move_needs() -> None:
    tree: Tree = {"": D, "a.txt": F, "blue": D, "blue/a.txt": F, "blue/a.from-nested.txt": F}
    moves = plan_merge(tree, "blue").moves
    targets = [m.target for m in moves]
    assert len(set(targets)) == len(targets) == 2
    assert "a.from-nested.txt" in targets
    assert all(t not in tree for t in targets)


def test_merge_collapses_a_deeper_duplicate_first() -> None:
    tree: Tree = {
        "": D,
        "blue": D,
        "blue/blue": D,
        "blue/blue/deep.txt": F,
        "blue/mid.txt": F,
    }
    merge = plan_merge(tree, "blue")
    assert merge.moves == [
        Move("blue/blue/deep.txt", "blue/deep.txt"),
        Move("blue/deep.txt", "deep.txt"),
        Move("blue/mid.txt", "mid.txt"),
    ]
    assert merge.emptied == ["blue/blue", "blue"]
    assert sorted(merge.tree) == ["", "deep.txt", "mid.txt"]


def test_merge_of_a_file_named_like_the_colour_keeps_it() -> None:
    tree: Tree = {"": D, "blue": D, "blue/blue": F}
    merge = plan_merge(tree, "blue")
    assert merge.moves == [Move("blue/blue", "blue.from-nested", clash="blue")]
    assert sorted(merge.tree) == ["", "blue.from-nested"]


# The fix plan ------------------------------------------------------------------------------------


def lines(desired: DesiredPath, tree: Tree | None, **kw: object) -> list[str]:
    planned = plan_path_fixes(desired, tree, now=NOW, **kw)  # type: ignore[arg-type]
    return [f.line(desired.path) for f in planned.fixes]


def test_missing_folder_is_created_with_its_subdirs() -> None:
    desired = desired_path(subdirs=["images", "cache/small"])
    assert lines(desired, None) == [
        "+ mkdir uploads/blue (1001:1001 0755)",
        "+ mkdir uploads/blue/images (1001:1001 0755)",
        "+ mkdir uploads/blue/cache (1001:1001 0755)",
        "+ mkdir uploads/blue/cache/small (1001:1001 0755)",
    ]


def test_owner_mode_temp_files_and_links() -> None:
    desired = desired_path(subdirs=["temp"], cleanup={"subdir": "temp", "older_than": "24h"})
    tree: Tree = {
        "": Entry("dir", 0, 0, 0o700),
        "temp": Entry("dir", 1001, 1001, 0o755),
        "temp/old.tmp": Entry("file", 1001, 1001, 0o644, NOW - 2 * DAY),
        "temp/new.tmp": Entry("file", 0, 0, 0o644, NOW - 60),
        "temp/old-link": Entry("link", 1001, 1001, 0o777, NOW - 2 * DAY),
        "photo.png": Entry("file", 1001, 1001, 0o600),
        "escape": Entry("link", 0, 0, 0o777),
    }
    assert lines(desired, tree) == [
        "- remove uploads/blue/temp/old.tmp (temp file older than 24h)",
        "~ chown uploads/blue 0:0 → 1001:1001",
        "~ chmod uploads/blue 0700 → 0755",
        "~ chown uploads/blue/escape 0:0 → 1001:1001",
        "~ chown uploads/blue/temp/new.tmp 0:0 → 1001:1001",
    ]


def test_certificates_and_secrets_are_readable_by_their_owner_only() -> None:
    certs = desired_path(
        name="certs", address="path.certs", color=None, path="certs", kind="certificate"
    )
    certs = certs.model_copy(update={"mode": "0700"})
    tree: Tree = {
        "": Entry("dir", 1001, 1001, 0o755),
        "privkey.pem": Entry("file", 1001, 1001, 0o644),
        "old": Entry("dir", 1001, 1001, 0o755),
        "old/privkey.pem": Entry("file", 1001, 1001, 0o600),
    }
    assert lines(certs, tree) == [
        "~ chmod certs 0755 → 0700",
        "~ chmod certs/old 0755 → 0700",
        "~ chmod certs/privkey.pem 0644 → 0600",
    ]
    secret = desired_path(
        name="key", address="path.key", color=None, path="secrets/app.key", kind="secret"
    ).model_copy(update={"mode": "0600"})
    assert lines(secret, {"": Entry("file", 0, 0, 0o644)}) == [
        "~ chown secrets/app.key 0:0 → 1001:1001",
        "~ chmod secrets/app.key 0644 → 0600",
    ]


def test_what_is_not_fixed_is_said() -> None:
    secret = desired_path(name="key", address="path.key", color=None, path="k", kind="secret")
    missing = plan_path_fixes(secret, None, now=NOW)
    assert missing.fixes == [] and missing.problems == []
    assert missing.notes == ["k is missing; specctl does not create secret files"]
    wrong = plan_path_fixes(desired_path(), {"": F}, now=NOW)
    assert wrong.fixes == []
    assert wrong.problems == ["uploads/blue is a regular file, expected a directory; left alone"]
    blocked = plan_path_fixes(desired_path(subdirs=["images"]), {"": D, "images": F}, now=NOW)
    assert blocked.problems == ["uploads/blue/images is a regular file, not a directory"]
    linked = plan_path_fixes(desired_path(), {"": D, "blue": L}, now=NOW)
    assert linked.notes == ["uploads/blue/blue is a symlink: not merged, not followed"]
    assert [f.op for f in linked.fixes] == ["chown", "chown"]


def test_other_managed_paths_inside_are_left_to_their_own_entry() -> None:
    tree: Tree = {"": D, "certs": D, "certs/key.pem": F, "a": F}
    got = lines(desired_path(mode="0755"), tree, foreign=frozenset({"certs"}))
    assert got == ["~ chown uploads/blue 0:0 → 1001:1001", "~ chown uploads/blue/a 0:0 → 1001:1001"]


def test_moved_entries_are_owned_under_their_new_name() -> None:
    desired = desired_path(subdirs=["images"])
    tree: Tree = {
        "": Entry("dir", 1001, 1001, 0o755),
        "blue": Entry("dir", 0, 0, 0o755),
        "blue/images": Entry("dir", 0, 0, 0o700),
        "blue/images/a.png": Entry("file", 0, 0, 0o644),
    }
    assert lines(desired, tree) == [
        "~ move uploads/blue/blue/images → uploads/blue/images",
        "- rmdir uploads/blue/blue (empty after the merge)",
        "~ chown uploads/blue/images 0:0 → 1001:1001",
        "~ chmod uploads/blue/images 0700 → 0755",
        "~ chown uploads/blue/images/a.png 0:0 → 1001:1001",
    ]


@pytest.mark.parametrize(
    ("fix", "line"),
    [
        (Fix("mkdir", "a", 1, 2, 0o750), "+ mkdir up/a (1:2 0750)"),
        (Fix("chown", "", 1, 2, before="0:0"), "~ chown up 0:0 → 1:2"),
        (Fix("chmod", "x", mode=0o600, before="0644"), "~ chmod up/x 0644 → 0600"),
        (Fix("move", "b/x", target="x"), "~ move up/b/x → up/x"),
        (
            Fix("move", "b/x", target="x.from-nested", clash="x"),
            "~ move up/b/x → up/x.from-nested (name conflict: kept both, up/x stays)",
        ),
        (Fix("rmdir", "b"), "- rmdir up/b (empty after the merge)"),
        (
            Fix("remove", "t/o", note="temp file older than 1h"),
            "- remove up/t/o (temp file older than 1h)",
        ),
    ],
)
def test_fix_lines(fix: Fix, line: str) -> None:
    assert fix.line("up") == line


# The real thing: a broken tree on disk -----------------------------------------------------------

SPEC = """\
version: 1
project: bkp-perm
root: ..
services:
  app:
    image: specctl-testbed/app:1.0
    port: 8080
    volumes:
      - {path: uploads, target: /data/uploads}
paths:
  uploads:
    path: uploads/{color}
    mode: "0755"
    subdirs: [images, thumbnails, temp]
    cleanup: {subdir: temp, older_than: 24h}
  certs:
    path: certs
    kind: certificate
  key:
    path: secrets/app.key
    kind: secret
proxy:
  image: specctl-testbed/nginx:1.22
  ports: [{host: 23081}]
  upstreams: {app: app}
  locations: [{path: /, upstream: app}]
"""


def write_spec(root: Path, text: str = SPEC) -> Path:
    spec = root / "config" / "spec.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(text)
    return spec


def put(path: Path, text: str, *, owner: int = 0, mode: int = 0o644, age: float = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chown(path, owner, owner)
    path.chmod(mode)
    if age:
        os.utime(path, (time.time() - age, time.time() - age))


def broken_tree(root: Path) -> None:
    """Wrong owner and mode, missing subdirs, old temp files, a nested duplicate colour folder
    with a conflicting file, a link leading out, loose certificate and secret modes."""
    blue = root / "uploads" / "blue"
    put(blue / "images" / "cat.png", "cat", owner=1234)
    put(blue / "report.pdf", "report (outer)", owner=1234)
    put(blue / "temp" / "old.tmp", "old temp", age=3 * DAY)
    put(blue / "temp" / "fresh.tmp", "fresh temp", owner=1001)
    put(blue / "blue" / "images" / "dog.png", "dog", owner=1234)
    put(blue / "blue" / "report.pdf", "report (nested)", owner=1234)
    put(blue / "blue" / "thumbnails" / "cat.small.png", "small cat")
    (blue / "images" / "passwd").symlink_to("/etc/passwd")
    os.chown(blue / "images", 1234, 1234)
    blue.chmod(0o700)
    put(root / "certs" / "privkey.pem", "key", mode=0o644)
    put(root / "secrets" / "app.key", "secret", mode=0o644)


def contents(root: Path) -> Counter[str]:
    """Every regular file's content (a multiset): moving or renaming keeps it, losing does not."""
    found: Counter[str] = Counter()
    for folder, _, files in os.walk(root / "uploads"):
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                found[hashlib.sha256(path.read_bytes()).hexdigest()] += 1
    return found


def plan_shows(project: Project) -> dict[str, list[str]]:
    """What `specctl plan` shows for each managed path (observe_path + diff_path)."""
    shown = {}
    for path in managed_paths(project, "all"):
        change, _ = diff_path(path, observe_path(project, path, now=time.time()))
        shown[path.address] = [f.key for f in change.fields] if change else []
        if change is not None and not change.fields:
            shown[path.address] = [change.action.value]
    return shown


def test_fix_permissions_on_a_broken_tree(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    broken_tree(tmp_path)
    before = contents(tmp_path)
    passwd = os.lstat("/etc/passwd")
    project = load_project(spec)
    plan_before = plan_shows(project)
    assert plan_before["path.uploads.blue"] == [
        "owner",
        "mode",
        "subdirs",
        "nested",
        "stale temp files",
        "actions",
    ]

    dry = run_cli("-f", str(spec), "fix-permissions", "--dry-run", cwd=tmp_path)
    assert dry.code == 0, dry.err
    planned = [line for line in dry.out.splitlines() if line.startswith("  path.")]
    expected = [
        "path.certs          ~ chown certs 0:0 → 1001:1001",
        "path.certs          ~ chmod certs 0755 → 0700",
        "path.certs          ~ chown certs/privkey.pem 0:0 → 1001:1001",
        "path.certs          ~ chmod certs/privkey.pem 0644 → 0600",
        "path.key            ~ chown secrets/app.key 0:0 → 1001:1001",
        "path.key            ~ chmod secrets/app.key 0644 → 0600",
        "path.uploads.blue   ~ move uploads/blue/blue/images/dog.png → uploads/blue/images/dog.png",
        "path.uploads.blue   ~ move uploads/blue/blue/report.pdf → uploads/blue/report.from-nested.pdf"
        " (name conflict: kept both, uploads/blue/report.pdf stays)",
        "path.uploads.blue   ~ move uploads/blue/blue/thumbnails → uploads/blue/thumbnails",
        "path.uploads.blue   - rmdir uploads/blue/blue/images (empty after the merge)",
        "path.uploads.blue   - rmdir uploads/blue/blue (empty after the merge)",
        "path.uploads.blue   - remove uploads/blue/temp/old.tmp (temp file older than 24h)",
        "path.uploads.blue   ~ chown uploads/blue 0:0 → 1001:1001",
        "path.uploads.blue   ~ chmod uploads/blue 0700 → 0755",
        "path.uploads.blue   ~ chown uploads/blue/images 1234:1234 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/images/cat.png 1234:1234 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/images/dog.png 1234:1234 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/images/passwd 0:0 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/report.from-nested.pdf 1234:1234 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/report.pdf 1234:1234 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/temp 0:0 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/thumbnails 0:0 → 1001:1001",
        "path.uploads.blue   ~ chown uploads/blue/thumbnails/cat.small.png 0:0 → 1001:1001",
        "path.uploads.green  + mkdir uploads/green (1001:1001 0755)",
        "path.uploads.green  + mkdir uploads/green/images (1001:1001 0755)",
        "path.uploads.green  + mkdir uploads/green/thumbnails (1001:1001 0755)",
        "path.uploads.green  + mkdir uploads/green/temp (1001:1001 0755)",
    ]
    assert [line.strip() for line in planned] == expected
    assert "would make 27 fixes on 4 of 4 paths; 1 name conflict (both copies kept)" in dry.out
    assert contents(tmp_path) == before, "a dry run changed files"
    assert not (tmp_path / "logs").exists(), "a dry run wrote a log"

    real = run_cli("-f", str(spec), "fix-permissions", cwd=tmp_path)
    assert real.code == 0, real.err
    assert [line for line in real.out.splitlines() if line.startswith("  path.")] == planned
    logs = list((tmp_path / "logs" / "deployment").glob("fix-permissions-*.log"))
    assert len(logs) == 1
    assert (
        logs[0]
        .name.removeprefix("fix-permissions-")
        .removesuffix(".log")
        .replace("-", "")
        .isdigit()
    )
    logged = logs[0].read_text()
    assert all(line.split(maxsplit=1)[1] in logged for line in expected)

    again = run_cli("-f", str(spec), "fix-permissions", "--dry-run", cwd=tmp_path)
    assert again.code == 0, again.err
    assert "No changes. Managed paths match the spec." in again.out
    assert not [line for line in again.out.splitlines() if line.startswith("  path.")]

    after = contents(tmp_path)
    lost = before - after
    assert lost == Counter({hashlib.sha256(b"old temp").hexdigest(): 1}), "a user file was lost"
    assert after - before == Counter()
    blue = tmp_path / "uploads" / "blue"
    assert (blue / "report.pdf").read_text() == "report (outer)"
    assert (blue / "report.from-nested.pdf").read_text() == "report (nested)"
    assert not (blue / "blue").exists()
    for path in [blue, *blue.rglob("*"), *(tmp_path / "uploads" / "green").rglob("*")]:
        st = path.lstat()
        assert (st.st_uid, st.st_gid) == (1001, 1001), path
    assert oct(blue.stat().st_mode & 0o777) == oct(0o755)
    assert (tmp_path / "certs" / "privkey.pem").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "certs").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "secrets" / "app.key").stat().st_mode & 0o777 == 0o600
    after_passwd = os.lstat("/etc/passwd")
    assert (after_passwd.st_uid, after_passwd.st_mode) == (passwd.st_uid, passwd.st_mode)
    assert plan_shows(project) == {p: [] for p in plan_before}, "plan still shows path fixes"


def test_plan_and_fix_permissions_agree_on_what_plan_sees(tmp_path: Path) -> None:
    """Each path the plan shows a fix for is one fix-permissions changes, and back."""
    spec = write_spec(tmp_path)
    broken_tree(tmp_path)
    put(tmp_path / "uploads" / "green" / "ok.txt", "ok", owner=1001)
    os.chown(tmp_path / "uploads" / "green", 1001, 1001)
    for sub in ("images", "thumbnails", "temp"):
        (tmp_path / "uploads" / "green" / sub).mkdir()
        os.chown(tmp_path / "uploads" / "green" / sub, 1001, 1001)
    project = load_project(spec)
    planned = fix_permissions(project, managed_paths(project, "all"), dry_run=True)
    shown = plan_shows(project)
    assert {a for a, fixes in planned.items() if fixes} == {a for a, s in shown.items() if s}
    assert shown["path.uploads.green"] == [] and planned["path.uploads.green"] == []


def test_plan_sees_ownership_inside_a_managed_path(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    blue = tmp_path / "uploads" / "blue"
    for sub in ("images", "thumbnails", "temp"):
        (blue / sub).mkdir(parents=True)
    for path in (blue, *blue.iterdir()):
        os.chown(path, 1001, 1001)
    put(blue / "images" / "cat.png", "cat", owner=0)  # written by a container running as root
    project = load_project(spec)
    desired = project.desired("blue").paths[-1]
    assert fix_permissions(project, [desired], dry_run=True)[desired.address] == [
        "~ chown uploads/blue/images/cat.png 0:0 → 1001:1001"
    ]
    assert plan_shows(project)[desired.address] != []


def test_a_symlink_out_of_the_root_is_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    put(outside / "important", "do not touch", owner=4321)
    os.chown(outside, 4321, 4321)
    root = tmp_path / "project"
    spec = write_spec(root)
    (root / "uploads").mkdir(parents=True)
    (root / "uploads" / "blue").symlink_to(outside)
    result = run_cli("-f", str(spec), "fix-permissions", "--target", "blue", cwd=root)
    assert result.code == 1
    assert (
        f"problem: path.uploads.blue: uploads/blue resolves to {outside}, outside the project "
        f"root {root} (a symlink leads out); left alone"
    ) in result.out
    assert "error: 1 managed path was left alone" in result.err
    assert (outside.stat().st_uid, (outside / "important").stat().st_uid) == (4321, 4321)
    # the other paths of the target were still fixed
    assert (root / "certs").stat().st_uid == 1001
    project = load_project(spec)
    with pytest.raises(ApplyError, match=r"path\.uploads\.blue: uploads/blue resolves to"):
        fix_permissions(project, project.desired("blue").paths, dry_run=False)


def test_target_picks_a_colour_and_the_shared_paths(tmp_path: Path) -> None:
    project = load_project(write_spec(tmp_path))
    assert [p.address for p in managed_paths(project, "green")] == [
        "path.certs",
        "path.key",
        "path.uploads.green",
    ]
    assert len(managed_paths(project, "all")) == 4
    bad = run_cli("-f", str(tmp_path / "config" / "spec.yaml"), "fix-permissions", "-t", "red")
    assert bad.code != 0


def test_check_pre_names_env_files_and_the_key_others_can_read(tmp_path: Path) -> None:
    """Fails by default (checks.pre.secrets: warn only warns), names the file and never its
    contents; `fix-permissions` repairs it (a dry run first), and the check passes."""
    text = SPEC.replace(
        "    port: 8080\n",
        '    port: 8080\n    env_files: [".env.{color}"]\n    required_env: [API_KEY]\n',
    )
    spec_path = write_spec(tmp_path, text)
    project = load_project(spec_path)
    put(tmp_path / ".env.blue", "API_KEY=never-shown-5f3b\n", mode=0o644)
    put(tmp_path / ".env.green", "API_KEY=never-shown-5f3b\n", mode=0o600)
    put(tmp_path / ".specctl" / "fingerprint.key", "k" * 32, mode=0o640)
    os.chown(tmp_path / ".env.green", 4242, 4242)  # another user's: they could change it
    ctx = Context(project=project, desired=project.desired("blue"))
    assert check_env_files(ctx) == (
        "fail",
        ".env.blue: holds secrets, but other users have access (mode 0644); specctl "
        "fix-permissions repairs it; "
        ".env.green: holds secrets, but it is owned by uid 4242, not uid 0 (specctl's); specctl "
        "fix-permissions repairs it; "
        ".specctl/fingerprint.key: holds secrets, but other users have access (mode 0640); "
        "specctl fix-permissions repairs it",
    )
    lenient = load_project(write_spec(tmp_path, text + "checks: {pre: {secrets: warn}}\n"))
    assert check_env_files(Context(project=lenient, desired=lenient.desired("blue")))[0] == "warn"

    dry = run_cli("-f", str(spec_path), "fix-permissions", "--dry-run", "-t", "all")
    assert dry.code == 0, dry.out + dry.err
    assert "  .env.blue  chmod 0644 -> 0600" in dry.out
    assert "  .env.green  chown 4242 -> 0" in dry.out
    assert "never-shown" not in dry.out + dry.err
    assert (tmp_path / ".env.blue").stat().st_mode & 0o777 == 0o644  # a dry run changes nothing
    fixed = run_cli("-f", str(spec_path), "fix-permissions", "-t", "all")
    assert fixed.code == 0, fixed.out + fixed.err
    assert "and 3 on files holding secrets" in fixed.out, fixed.out
    assert (tmp_path / ".env.blue").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / ".env.green").stat().st_uid == 0
    assert check_env_files(ctx)[0] == "pass"
